//! Seed 001's "Inbound to Posz": marketplace partners post events to
//! `POST /v1/integrations/{slug}/webhook`, signed with HMAC-SHA256 of the
//! raw body under the install's own webhook secret, in `X-{Slug}-Signature`.
//! Deduped by (install, provider event id). This module holds the secrets
//! (sealed, rotatable with an overlap) and the checks before a delivery is
//! stored; the gateway stores it like any other inbound delivery.
use entity::crypto::KeyRing;
use entity::{capability, install, install_webhook_secret, integration, integration_capability};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use uuid::Uuid;

use super::audit::{self, Actor};
use super::inbound::verify::{self, AuthFailure, Digest, Encoding};
use crate::error::{AppError, AppResult};

/// How long the previous secret keeps working after a rotation, by default.
pub const DEFAULT_OVERLAP_SECS: i64 = 24 * 3600;

/// What a partner posts (the body; signed as raw bytes).
#[derive(Clone, Debug, Deserialize)]
pub struct Envelope {
    /// The partner's unique id of this event (the dedupe key).
    pub event_id: String,
    /// What happened, e.g. `payment.captured`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The install the event is for (shown to the merchant and partner).
    pub install_id: Uuid,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Envelope {
    /// Parses and checks a body; errors name the field.
    pub fn parse(body: &[u8]) -> AppResult<Self> {
        let e: Envelope = serde_json::from_slice(body).map_err(|e| {
            AppError::invalid(format!(
                "The body must be JSON {{\"event_id\", \"type\", \"install_id\", \"data\"}}: {e}"
            ))
        })?;
        if e.event_id.trim().is_empty() || e.event_id.len() > 200 {
            return Err(AppError::field(
                "event_id",
                "event_id must be 1 to 200 characters: your unique id of this event.",
            ));
        }
        if e.kind.trim().is_empty() || e.kind.len() > 100 {
            return Err(AppError::field("type", "type must be 1 to 100 characters."));
        }
        Ok(e)
    }
}

/// The header a partner signs in: `X-{Slug}-Signature`, lower-cased.
pub fn signature_header(slug: &str) -> String {
    format!("x-{}-signature", slug.to_ascii_lowercase())
}

/// The install a delivery is for, checked in the order seed 001's error
/// codes imply; the signature is checked by the caller with [`verify`].
pub struct Target {
    pub install: install::Model,
    pub secrets: Vec<Vec<u8>>,
}

/// Finds the install of `slug` with id `install_id` and its valid secrets.
pub async fn target<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    slug: &str,
    install_id: Uuid,
) -> AppResult<Target> {
    let install = install::Entity::find_by_id(install_id)
        .filter(install::Column::IntegrationSlug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::IntegrationNotInstalled(format!(
                "No install {install_id} of {slug}: the merchant has not installed it, or uninstalled it."
            ))
        })?;
    let secrets = match install_webhook_secret::Entity::find_by_id(install_id)
        .one(db)
        .await?
    {
        Some(row) => {
            let mut out = vec![open(keys, &row.secret)?];
            if let (Some(previous), Some(until)) = (&row.previous, row.previous_until) {
                if until > entity::now() {
                    out.push(open(keys, previous)?);
                }
            }
            out
        }
        None => Vec::new(),
    };
    Ok(Target { install, secrets })
}

fn open(keys: &KeyRing, sealed: &str) -> AppResult<Vec<u8>> {
    keys.open(sealed).map_err(|e| {
        tracing::error!(error = %e, "cannot open an install webhook secret");
        AppError::Internal
    })
}

/// Checks the signature against every valid secret (current, then the
/// previous during its overlap).
pub fn verify(target: &Target, signature: Option<&str>, body: &[u8]) -> Result<(), AuthFailure> {
    if target.secrets.is_empty() {
        return Err(AuthFailure::UnknownAccount);
    }
    let mut last = AuthFailure::SignatureMismatch;
    for secret in &target.secrets {
        match verify::check(Digest::Sha256, Encoding::Hex, secret, body, signature) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// After the signature: the install must be enabled and the integration
/// must take inbound events (a capability ending in `_inbound`).
pub async fn check_accepting<C: ConnectionTrait>(db: &C, target: &Target) -> AppResult<()> {
    let slug = &target.install.integration_slug;
    let name = integration::Entity::find_by_id(slug.clone())
        .one(db)
        .await?
        .map(|i| i.name)
        .unwrap_or_else(|| slug.clone());
    if !target.install.enabled {
        return Err(AppError::IntegrationDisabled(format!(
            "{name} is installed but disabled by the merchant; events are refused until it is enabled."
        )));
    }
    let capabilities: Vec<String> = integration_capability::Entity::find()
        .filter(integration_capability::Column::IntegrationSlug.eq(slug.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.capability_slug)
        .collect();
    let inbound = capability::Entity::find()
        .filter(capability::Column::Slug.is_in(capabilities))
        .all(db)
        .await?
        .into_iter()
        .any(|c| c.slug.ends_with("_inbound"));
    if !inbound {
        return Err(AppError::CapabilityUnsupported(format!(
            "{name} has no inbound capability, so it cannot post events."
        )));
    }
    Ok(())
}

/// A new secret, shown once.
#[derive(Clone, Debug, serde::Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RotatedSecret {
    pub secret: String,
    /// Until when the previous secret is still accepted (RFC 3339), if there was one.
    pub previous_valid_until: Option<String>,
}

/// Creates or rotates the webhook secret of one of the merchant's installs.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    actor: Actor,
    merchant_id: Uuid,
    install_id: Uuid,
    overlap: time::Duration,
) -> AppResult<RotatedSecret> {
    if overlap.is_negative() || overlap > time::Duration::days(30) {
        return Err(AppError::field(
            "overlap_seconds",
            "overlap_seconds must be between 0 and 30 days.",
        ));
    }
    let inst = install::Entity::find_for_merchant(db, merchant_id, install_id)
        .await?
        .ok_or_else(|| {
            AppError::IntegrationNotInstalled("No such install for this merchant.".into())
        })?;
    let mut raw = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut raw);
    let secret = hex::encode(raw);
    let now = entity::now();
    let existing = install_webhook_secret::Entity::find_by_id(install_id)
        .one(db)
        .await?;
    let previous_until = existing.as_ref().map(|_| now + overlap);
    let row = install_webhook_secret::ActiveModel {
        install_id: Set(install_id),
        secret: Set(keys.seal(secret.as_bytes())),
        previous: Set(existing.as_ref().map(|e| e.secret.clone())),
        previous_until: Set(previous_until),
        rotated_at: Set(now),
    };
    if existing.is_some() {
        row.update(db).await?;
    } else {
        row.insert(db).await?;
    }
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "install.webhook_secret_rotated",
        format!("install:{}", inst.id),
        None,
        Some(serde_json::json!({"previous_valid_until": previous_until.map(super::rfc3339)})),
    )
    .await?;
    Ok(RotatedSecret {
        secret,
        previous_valid_until: previous_until.map(super::rfc3339),
    })
}

/// Re-seals every webhook secret under the current primary key.
pub async fn reseal_all<C: ConnectionTrait>(db: &C, keys: &KeyRing) -> AppResult<usize> {
    let mut count = 0;
    for row in install_webhook_secret::Entity::find().all(db).await? {
        let stale = !keys.is_current(&row.secret)
            || row.previous.as_deref().is_some_and(|p| !keys.is_current(p));
        if !stale {
            continue;
        }
        let secret = keys.seal(&open(keys, &row.secret)?);
        let previous = match &row.previous {
            Some(p) => Some(keys.seal(&open(keys, p)?)),
            None => None,
        };
        let mut active: install_webhook_secret::ActiveModel = row.into();
        active.secret = Set(secret);
        active.previous = Set(previous);
        active.update(db).await?;
        count += 1;
    }
    Ok(count)
}
