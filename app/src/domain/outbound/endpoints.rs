//! Partner webhook endpoints: register (the secret is answered once),
//! list, rotate the secret with an overlap, re-enable, delete.
use entity::crypto::KeyRing;
use entity::{location, webhook_endpoint};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::signing::{self, SigningSecrets};
use super::url_policy::UrlPolicy;
use crate::domain::audit::{self, Actor};
use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::outbound::{WebhookEndpoint, WebhookEndpointCreated, WebhookEndpointInput};

/// Event types an endpoint can take (besides `*`).
pub const EVENT_TYPES: [&str; 10] = [
    "order.paid",
    "order.accepted",
    "order.preparing",
    "order.ready",
    "order.completed",
    "order.cancelled",
    "order.created",
    "refund.created",
    "settings.changed",
    "webhook.test",
];

/// Longest overlap a rotation may keep the previous secret for.
const MAX_OVERLAP: time::Duration = time::Duration::days(30);

/// The wire view of an endpoint.
pub fn view(m: &webhook_endpoint::Model) -> WebhookEndpoint {
    let now = entity::now();
    WebhookEndpoint {
        id: m.id,
        outlet_id: m.location_id,
        url: m.url.clone(),
        description: m.description.clone(),
        events: m
            .event_types
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        format: m.format.clone(),
        enabled: m.enabled,
        disabled_reason: m.disabled_reason.clone(),
        failing_since: m.failing_since.map(rfc3339),
        previous_secret_until: m.previous_until.filter(|t| *t > now).map(rfc3339),
        created_at: rfc3339(m.created_at),
    }
}

fn validate(
    policy: &UrlPolicy,
    input: &WebhookEndpointInput,
) -> AppResult<(String, Vec<String>, String)> {
    let url = policy
        .check_url(&input.url)
        .map_err(|e| AppError::field("url", e.to_string()))?;
    let format = input
        .format
        .clone()
        .unwrap_or_else(|| webhook_endpoint::format::CATA.to_string());
    if !webhook_endpoint::format::ALL.contains(&format.as_str()) {
        return Err(AppError::field(
            "format",
            "format must be one of cata, posz or standard.",
        ));
    }
    let mut events: Vec<String> = input.events.iter().map(|e| e.trim().to_string()).collect();
    if events.is_empty() {
        events.push("*".into());
    }
    for e in &events {
        if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
            return Err(AppError::field(
                "events",
                format!(
                    "unknown event type {e:?}; known: *, {}.",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    events.sort();
    events.dedup();
    Ok((url.to_string(), events, format))
}

/// Registers an endpoint; answers it with its secret (shown once).
pub async fn register<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    policy: &UrlPolicy,
    actor: Actor,
    merchant_id: Uuid,
    input: &WebhookEndpointInput,
) -> AppResult<WebhookEndpointCreated> {
    let (url, events, format) = validate(policy, input)?;
    if let Some(outlet) = input.outlet_id {
        location::Entity::find_by_id(outlet)
            .filter(location::Column::MerchantId.eq(merchant_id))
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("outletId", "No such outlet for this merchant."))?;
    }
    let description = input.description.clone().unwrap_or_default();
    if description.len() > 500 {
        return Err(AppError::field(
            "description",
            "description is at most 500 characters.",
        ));
    }
    let secret = signing::new_secret(&format);
    let now = entity::now();
    let row = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant_id),
        location_id: Set(input.outlet_id),
        url: Set(url),
        description: Set(description),
        event_types: Set(serde_json::json!(events)),
        format: Set(format),
        secret: Set(keys.seal(secret.as_bytes())),
        previous_secret: Set(None),
        previous_until: Set(None),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "webhook_endpoint.registered",
        format!("webhook_endpoint:{}", row.id),
        None,
        Some(serde_json::json!({"url": row.url, "events": row.event_types, "format": row.format})),
    )
    .await?;
    Ok(WebhookEndpointCreated {
        endpoint: view(&row),
        secret,
    })
}

/// The merchant's endpoints.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
) -> AppResult<Vec<WebhookEndpoint>> {
    Ok(webhook_endpoint::Entity::list_for_merchant(db, merchant_id)
        .await?
        .iter()
        .map(view)
        .collect())
}

async fn find<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_for_merchant(db, merchant_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such webhook endpoint.".into()))
}

/// One of the merchant's endpoints.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<WebhookEndpoint> {
    Ok(view(&find(db, merchant_id, id).await?))
}

/// A new secret; the current one keeps signing (beside the new one) for
/// `overlap`, so the partner can switch without missing a delivery.
pub async fn rotate_secret<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    actor: Actor,
    merchant_id: Uuid,
    id: Uuid,
    overlap: time::Duration,
) -> AppResult<WebhookEndpointCreated> {
    if overlap.is_negative() || overlap > MAX_OVERLAP {
        return Err(AppError::field(
            "overlapSeconds",
            "overlapSeconds must be between 0 and 30 days.",
        ));
    }
    let current = find(db, merchant_id, id).await?;
    let secret = signing::new_secret(&current.format);
    let now = entity::now();
    let mut row: webhook_endpoint::ActiveModel = current.clone().into();
    row.secret = Set(keys.seal(secret.as_bytes()));
    row.previous_secret = Set((overlap > time::Duration::ZERO).then(|| current.secret.clone()));
    row.previous_until = Set((overlap > time::Duration::ZERO).then_some(now + overlap));
    row.updated_at = Set(now);
    let row = row.update(db).await?;
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "webhook_endpoint.secret_rotated",
        format!("webhook_endpoint:{id}"),
        None,
        Some(serde_json::json!({"previous_valid_until": row.previous_until.map(rfc3339)})),
    )
    .await?;
    Ok(WebhookEndpointCreated {
        endpoint: view(&row),
        secret,
    })
}

/// Enables (clearing why it was disabled) or disables an endpoint.
pub async fn set_enabled<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    id: Uuid,
    enabled: bool,
) -> AppResult<WebhookEndpoint> {
    let current = find(db, merchant_id, id).await?;
    let mut row: webhook_endpoint::ActiveModel = current.into();
    row.enabled = Set(enabled);
    row.disabled_reason = Set((!enabled).then(|| "Disabled by the merchant.".to_string()));
    row.failing_since = Set(None);
    row.updated_at = Set(entity::now());
    let row = row.update(db).await?;
    audit::record(
        db,
        Some(merchant_id),
        actor,
        if enabled {
            "webhook_endpoint.enabled"
        } else {
            "webhook_endpoint.disabled"
        },
        format!("webhook_endpoint:{id}"),
        None,
        None,
    )
    .await?;
    Ok(view(&row))
}

/// Deletes an endpoint and its delivery log.
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<()> {
    let current = find(db, merchant_id, id).await?;
    webhook_endpoint::Entity::delete_by_id(current.id)
        .exec(db)
        .await?;
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "webhook_endpoint.deleted",
        format!("webhook_endpoint:{id}"),
        Some(serde_json::json!({"url": current.url})),
        None,
    )
    .await
}

/// The secrets an endpoint signs with now: the current one, and the
/// previous one while its overlap lasts.
pub fn signing_secrets(keys: &KeyRing, m: &webhook_endpoint::Model) -> AppResult<SigningSecrets> {
    let open = |sealed: &str| {
        keys.open(sealed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                tracing::error!(endpoint = %m.id, "cannot open a webhook endpoint secret");
                AppError::Internal
            })
    };
    let mut secrets = vec![open(&m.secret)?];
    if let (Some(previous), Some(until)) = (&m.previous_secret, m.previous_until) {
        if until > entity::now() {
            secrets.push(open(previous)?);
        }
    }
    Ok(SigningSecrets(secrets))
}

/// Endpoints of the merchant that take `event_type` at `location_id`:
/// enabled, for that location or for every location.
pub async fn subscribed<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Option<Uuid>,
    event_type: &str,
) -> AppResult<Vec<webhook_endpoint::Model>> {
    let mut q = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::MerchantId.eq(merchant_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true));
    q = match location_id {
        Some(l) => q.filter(
            webhook_endpoint::Column::LocationId
                .is_null()
                .or(webhook_endpoint::Column::LocationId.eq(l)),
        ),
        None => q.filter(webhook_endpoint::Column::LocationId.is_null()),
    };
    Ok(q.all(db)
        .await?
        .into_iter()
        .filter(|e| e.takes(event_type))
        .collect())
}
