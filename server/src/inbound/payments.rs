//! `POST /v1/integrations/payments/{provider}/notifications`: Midtrans
//! notifications and Xendit callbacks. The payment the notification names
//! is found, the notification verified with the secrets of the install
//! that created the charge (Midtrans `signature_key`, Xendit
//! `x-callback-token`), then stored and acknowledged like every inbound
//! delivery — deduped, processed asynchronously (the payment settled, the
//! order moved to PAID), failures kept for support.
use app::domain::payments::notify::{self, Refusal};
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::ack::{Ack, Intake, NewEvent};
use super::routes::{redact, refused, unavailable};
use super::Inbound;
use crate::api::error::ApiError;

pub async fn receive(
    State(state): State<Inbound>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (pairs, stored_headers) = redact(&headers);
    let verified =
        match notify::verify(&state.db, &state.keys.current(), &provider, &pairs, &body).await {
            Ok(v) => v,
            Err(Refusal::UnknownProvider) => {
                return ApiError(AppError::NotFound(format!(
                    "No payment provider named {provider:?}."
                )))
                .into_response()
            }
            Err(Refusal::Auth(why)) => return refused(&state, &provider, why),
            Err(Refusal::Unavailable) => return unavailable(),
        };
    let submitted = state
        .ack
        .submit(NewEvent {
            merchant_id: verified.payment.merchant_id,
            connection_id: verified.payment.install_id,
            provider: verified.provider.name().to_string(),
            family: app::domain::payments::FAMILY.into(),
            topic: "notification".into(),
            headers: stored_headers,
            body_sha256: hex::encode(Sha256::digest(&body)),
            body,
            idempotency_key: verified.idempotency_key,
            intake: Intake::Accept,
        })
        .await;
    match submitted {
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
            tracing::error!(error = %e, "payment notification not stored");
            unavailable()
        }
    }
}
