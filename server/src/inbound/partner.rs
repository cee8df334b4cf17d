//! `POST /v1/integrations/{slug}/webhook` (seed 001, "Inbound to Posz"):
//! a marketplace partner's event for one install, signed with that
//! install's webhook secret. Stored and acknowledged like every inbound
//! delivery; deduped by (install, event id).
use app::domain::partner_webhooks::{self, Envelope};
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use entity::integration;
use sea_orm::EntityTrait;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::ack::{Ack, Intake, NewEvent};
use super::routes::{redact, refused, unavailable};
use super::Inbound;
use crate::api::error::ApiError;

pub async fn receive(
    State(state): State<Inbound>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match accept(&state, &slug, &headers, body).await {
        Ok(response) => response,
        Err(e) => ApiError(e).into_response(),
    }
}

async fn accept(
    state: &Inbound,
    slug: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    if integration::Entity::find_by_id(slug.to_string())
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound(format!(
            "No integration named {slug:?} in the catalog."
        )));
    }
    let envelope = Envelope::parse(&body)?;
    let target =
        partner_webhooks::target(&state.db, &state.keys.current(), slug, envelope.install_id)
            .await?;
    let signature = headers
        .get(partner_webhooks::signature_header(slug))
        .and_then(|v| v.to_str().ok());
    if let Err(why) = partner_webhooks::verify(&target, signature, &body) {
        return Ok(refused(state, slug, why));
    }
    partner_webhooks::check_accepting(&state.db, &target).await?;
    let (_, stored_headers) = redact(headers);
    let submitted = state
        .ack
        .submit(NewEvent {
            merchant_id: target.install.merchant_id,
            connection_id: target.install.id,
            provider: slug.to_string(),
            family: app::domain::inbound::processor::PARTNER_FAMILY.into(),
            topic: "webhook".into(),
            headers: stored_headers,
            body_sha256: hex::encode(Sha256::digest(&body)),
            body,
            idempotency_key: format!("{}:{}", target.install.id, envelope.event_id),
            intake: Intake::Accept,
        })
        .await;
    Ok(match submitted {
        Ok(Ack::Duplicate { event_id, original }) => Json(json!({
            "status": "duplicate",
            "event_id": event_id,
            "duplicate_of": original,
        }))
        .into_response(),
        Ok(Ack::Accepted { event_id } | Ack::Skipped { event_id } | Ack::Failed { event_id }) => {
            Json(json!({"status": "accepted", "event_id": event_id})).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "partner delivery not stored");
            unavailable()
        }
    })
}
