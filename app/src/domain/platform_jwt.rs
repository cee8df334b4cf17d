//! `platform_shared` auth: one 32-byte secret per integration, shared with
//! the partner out of band; Plugboard signs short-lived HS256 JWTs with the
//! merchant, location and capability. Rotation keeps the old secret valid for
//! an overlap window so the partner can switch without a failed request.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use entity::crypto::KeyRing;
use entity::{integration, platform_secret};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use time::Duration;
use uuid::Uuid;

use super::audit::{self, Actor};
use crate::error::{AppError, AppResult};

/// How long old and new secrets are both accepted after a rotation.
pub const DEFAULT_OVERLAP: Duration = Duration::minutes(5);
/// Lifetime of a signed token.
pub const TOKEN_TTL: Duration = Duration::minutes(5);
/// The `iss` of every token.
pub const ISSUER: &str = "plugboard";

/// What a token says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The integration slug.
    pub aud: String,
    /// The merchant id.
    pub sub: String,
    pub location_id: Option<String>,
    pub capability: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The order a receipt token is about (receipt_qr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The order's total in minor units, with `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl Claims {
    /// Claims for `capability` of `slug` at a merchant's location, valid for `ttl`.
    pub fn new(
        slug: &str,
        merchant_id: Uuid,
        location_id: Option<Uuid>,
        capability: &str,
        ttl: Duration,
    ) -> Self {
        let now = entity::now().unix_timestamp();
        Claims {
            iss: ISSUER.into(),
            aud: slug.into(),
            sub: merchant_id.to_string(),
            location_id: location_id.map(|l| l.to_string()),
            capability: capability.into(),
            iat: now,
            exp: now + ttl.whole_seconds(),
            jti: Uuid::new_v4().to_string(),
            order_id: None,
            amount_minor: None,
            currency: None,
        }
    }
}

/// A newly generated secret, to hand to the partner once.
pub struct NewSecret {
    pub key_id: String,
    /// base64url, 32 bytes.
    pub secret: String,
}

async fn platform_integration<C: ConnectionTrait>(
    db: &C,
    slug: &str,
) -> AppResult<integration::Model> {
    let i = integration::Entity::find_by_id(slug.to_string())
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!("No integration named {slug:?} in the catalog."))
        })?;
    if i.auth_shape != "platform_shared" {
        return Err(AppError::field(
            "integration",
            format!("{} does not use platform_shared auth.", i.name),
        ));
    }
    Ok(i)
}

/// Generates a new signing secret; older active ones retire after `overlap`.
pub async fn rotate<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
    actor: Actor,
    slug: &str,
    overlap: Duration,
) -> AppResult<NewSecret> {
    platform_integration(db, slug).await?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let now = entity::now();
    let key_id = format!("{}-{}", slug, now.unix_timestamp_nanos() / 1_000_000);
    let txn = db.begin().await?;
    platform_secret::Entity::update_many()
        .col_expr(
            platform_secret::Column::RetiresAt,
            sea_orm::sea_query::Expr::value(now + overlap),
        )
        .filter(platform_secret::Column::IntegrationSlug.eq(slug))
        .filter(platform_secret::Column::RetiresAt.is_null())
        .exec(&txn)
        .await?;
    platform_secret::ActiveModel {
        id: Set(Uuid::now_v7()),
        integration_slug: Set(slug.to_string()),
        key_id: Set(key_id.clone()),
        secret: Set(keys.seal(&bytes)),
        created_at: Set(now),
        retires_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        None,
        actor,
        "platform_secret.rotated",
        format!("integration:{slug}"),
        None,
        Some(serde_json::json!({"key_id": key_id, "overlap_seconds": overlap.whole_seconds()})),
    )
    .await?;
    txn.commit().await?;
    Ok(NewSecret {
        key_id,
        secret: URL_SAFE_NO_PAD.encode(bytes),
    })
}

fn open(keys: &KeyRing, row: &platform_secret::Model) -> AppResult<Vec<u8>> {
    keys.open(&row.secret).map_err(|e| {
        tracing::error!(key_id = %row.key_id, error = %e, "platform secret cannot be opened");
        AppError::Internal
    })
}

/// Signs a token for the partner with the newest secret.
pub async fn sign<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    slug: &str,
    merchant_id: Uuid,
    location_id: Option<Uuid>,
    capability: &str,
) -> AppResult<(String, Claims)> {
    let claims = Claims::new(slug, merchant_id, location_id, capability, TOKEN_TTL);
    let token = sign_claims(db, keys, &claims).await?;
    Ok((token, claims))
}

/// Signs `claims` for their audience (the integration) with its newest secret.
pub async fn sign_claims<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    claims: &Claims,
) -> AppResult<String> {
    let slug = claims.aud.as_str();
    platform_integration(db, slug).await?;
    let row = platform_secret::Entity::find()
        .filter(platform_secret::Column::IntegrationSlug.eq(slug))
        .filter(platform_secret::Column::RetiresAt.is_null())
        .order_by_desc(platform_secret::Column::CreatedAt)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "No platform secret for {slug} yet: the operator creates one with `plugboard platform-secrets rotate --integration {slug}`."
            ))
        })?;
    let header = Header {
        kid: Some(row.key_id.clone()),
        ..Header::new(Algorithm::HS256)
    };
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(&open(keys, &row)?),
    )
    .map_err(|e| {
        tracing::error!(error = %e, "JWT signing failed");
        AppError::Internal
    })
}

/// Verifies a token a partner presents: signed by a secret of `slug` that is
/// active or still inside its overlap window, for this audience, not expired.
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    slug: &str,
    token: &str,
) -> AppResult<Claims> {
    let invalid = || {
        AppError::Unauthorized(
            "The token is invalid, expired or signed with a retired secret.".into(),
        )
    };
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    let kid = header.kid.ok_or_else(invalid)?;
    let row = platform_secret::Entity::find()
        .filter(platform_secret::Column::IntegrationSlug.eq(slug))
        .filter(platform_secret::Column::KeyId.eq(kid))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if row.retires_at.is_some_and(|t| t <= entity::now()) {
        return Err(invalid());
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[slug]);
    validation.set_issuer(&[ISSUER]);
    validation.leeway = 5;
    jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&open(keys, &row)?),
        &validation,
    )
    .map(|d| d.claims)
    .map_err(|_| invalid())
}
