//! Merchant API tokens: created once, stored as a SHA-256 hash, revocable.
use entity::api_token;
use rand::{distributions::Alphanumeric, Rng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use sha2::{Digest, Sha256};
use time::Duration;
use uuid::Uuid;

use super::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::{ApiTokenInfo, NewApiToken};

/// Every token starts with this, so leaked tokens are easy to scan for.
pub const TOKEN_PREFIX: &str = "pbk_";
const SECRET_LEN: usize = 40;
const SHOWN_PREFIX_LEN: usize = 10;
/// `last_used_at` is written at most this often per token.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn to_wire(m: api_token::Model) -> ApiTokenInfo {
    ApiTokenInfo {
        id: m.id,
        name: m.name,
        prefix: m.prefix,
        created_at: rfc3339(m.created_at),
        last_used_at: m.last_used_at.map(rfc3339),
        revoked: m.revoked_at.is_some(),
    }
}

/// Creates a token for a merchant; the secret is in the answer and nowhere else.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    created_by: Option<Uuid>,
    name: &str,
) -> AppResult<NewApiToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::field(
            "name",
            "Give the token a name of 1 to 80 characters, e.g. \"inventory sync\".",
        ));
    }
    let secret: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    let token = format!("{TOKEN_PREFIX}{secret}");
    let model = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant_id),
        created_by: Set(created_by),
        name: Set(name.to_string()),
        prefix: Set(token[..SHOWN_PREFIX_LEN].to_string()),
        token_hash: Set(hash_token(&token)),
        created_at: Set(entity::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(NewApiToken {
        info: to_wire(model),
        token,
    })
}

/// The merchant's tokens, newest first.
pub async fn list<C: ConnectionTrait>(db: &C, merchant_id: Uuid) -> AppResult<Vec<ApiTokenInfo>> {
    Ok(api_token::Entity::list_for_merchant(db, merchant_id)
        .await?
        .into_iter()
        .map(to_wire)
        .collect())
}

/// Revokes a token of the merchant; revoking twice is fine.
pub async fn revoke<C: ConnectionTrait>(db: &C, merchant_id: Uuid, id: Uuid) -> AppResult<()> {
    let model = api_token::Entity::find_by_id(id)
        .filter(api_token::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such API token.".into()))?;
    if model.revoked_at.is_none() {
        let mut active = model.into_active_model();
        active.revoked_at = Set(Some(entity::now()));
        active.update(db).await?;
    }
    Ok(())
}

/// A live token's merchant and id.
#[derive(Clone, Copy, Debug)]
pub struct TokenOwner {
    pub merchant_id: Uuid,
    pub token_id: Uuid,
}

/// The merchant a bearer token belongs to, if the token is valid and live.
pub async fn authenticate<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<TokenOwner> {
    let invalid = || AppError::Unauthorized("The API token is missing, invalid or revoked.".into());
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + SECRET_LEN {
        return Err(invalid());
    }
    let model = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    let now = entity::now();
    let stale = model
        .last_used_at
        .is_none_or(|t| now - t > LAST_USED_RESOLUTION);
    let owner = TokenOwner {
        merchant_id: model.merchant_id,
        token_id: model.id,
    };
    if stale {
        let mut active = model.into_active_model();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    Ok(owner)
}
