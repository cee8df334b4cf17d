//! `POST /api/v1/inbound/{provider}/order-status` (seed 002): a POS's own
//! status webhook, answered exactly as the seed lists — a wrong event type
//! is 400 before any database work, a bad signature (or an outlet without
//! a secret) 401, no active script 500, a payload the script rejects 500
//! (the vendor retries), a skipped or unknown order 200, and a status
//! change 200 with the previous and current status.
use app::domain::orders::pos_status;
use app::domain::orders::status::{self, Change, Source};
use app::domain::scripts::Outcome as ScriptOutcome;
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::routes::refused;
use super::Inbound;
use crate::api::error::ApiError;

pub async fn receive(
    State(state): State<Inbound>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &provider, &headers, &body).await {
        Ok(response) => response,
        Err(e) => ApiError(e).into_response(),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

async fn handle(
    state: &Inbound,
    provider: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let Some(pos) = pos_status::find(provider) else {
        return Err(AppError::NotFound(format!(
            "No POS status webhook for {provider:?}."
        )));
    };
    let event = header(headers, pos.event_header()).unwrap_or_default();
    if event != pos.status_event() {
        return Err(AppError::invalid(format!(
            "{} must be {:?} (got {event:?}).",
            pos.event_header(),
            pos.status_event()
        )));
    }
    let store = header(headers, pos.outlet_header()).filter(|s| !s.is_empty() && s.len() <= 64);
    let outlet = match store {
        Some(store) => {
            pos_status::outlet(&state.db, &state.keys.current(), provider, &store).await?
        }
        None => None,
    };
    let Some(outlet) = outlet else {
        tracing::info!(
            provider,
            "POS status webhook: outlet not mapped to this provider"
        );
        return Ok(refused(
            state,
            provider,
            app::domain::inbound::verify::AuthFailure::UnknownAccount,
        ));
    };
    let Some(secret) = outlet.webhook_secret() else {
        tracing::info!(provider, install = %outlet.install.id, "POS status webhook: secret not configured");
        return Ok(refused(
            state,
            provider,
            app::domain::inbound::verify::AuthFailure::UnknownAccount,
        ));
    };
    if let Err(why) = pos.verify(secret.as_bytes(), &|n| header(headers, n), body) {
        tracing::info!(
            provider,
            reason = why.as_str(),
            "POS status webhook: signature mismatch"
        );
        return Ok(refused(state, provider, why));
    }
    let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let transformers = &state.pipeline.transformers;
    let (outcome, version) = transformers
        .run(provider, pos_status::TOPIC, &outlet.script_input(payload))
        .await?;
    let output = match outcome {
        ScriptOutcome::Skip { reason } => {
            return Ok(Json(json!({"status": "skipped", "reason": reason})).into_response())
        }
        ScriptOutcome::Output(v) => v,
    };
    let (Some(target), Some(pos_order_id)) = (
        output.get("status").and_then(Value::as_str),
        output.get("posOrderId").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
    ) else {
        return Err(AppError::TransformFailed(format!(
            "{provider}/{} {version}: the script returned neither {{status, posOrderId}} nor the skip sentinel",
            pos_status::TOPIC
        )));
    };
    let merchant_id = outlet.install.merchant_id;
    let Some(order) =
        pos_status::order_by_pos_id(&state.db, merchant_id, provider, &pos_order_id).await?
    else {
        // Vendors do not retry on 4xx, and an order we never dispatched
        // is not an error worth their retries: a silent acknowledgement.
        return Ok(Json(json!({
            "status": "ignored",
            "reason": format!("no order dispatched to {provider} as {pos_order_id}"),
        }))
        .into_response());
    };
    let updated = status::update(
        &state.db,
        Change {
            merchant_id: Some(merchant_id),
            order_id: order.id,
            status: target,
            expected_version: None,
            source: Source::Pos(provider.to_string()),
        },
    )
    .await?;
    Ok(Json(json!({
        "status": "ok",
        "orderId": updated.order_id,
        "previousStatus": updated.previous_status,
        "currentStatus": updated.current_status,
        "changed": updated.changed,
        "version": updated.version,
    }))
    .into_response())
}
