//! `POST /v1/integrations/{pos|erp|seller}/{provider}/…`: verify, store,
//! acknowledge. Everything after the acknowledgement is asynchronous.
use std::net::SocketAddr;

use app::domain::inbound::adapter::{Delivery, Family, Topic};
use app::domain::inbound::transform::{self, TransformFailure, Transformed};
use app::domain::inbound::verify::AuthFailure;
use app::domain::inbound::{allowlist, registry};
use app::domain::scripts::TransformError;
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use entity::inbound_event;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::ack::{Ack, Intake, NewEvent};
use super::Inbound;
use crate::api::error::ApiError;

/// Bulk imports carry thousands of rows.
const IMPORT_LIMIT: usize = 32 * 1024 * 1024;
/// Webhooks are small.
const WEBHOOK_LIMIT: usize = 1024 * 1024;

/// The provider routes.
pub fn routes(state: Inbound) -> Router {
    Router::new()
        .route(
            "/v1/integrations/pos/{provider}/webhooks/{topic}",
            post(|s, p, c, u, h, b| receive(Family::Pos, s, p, c, u, h, b)),
        )
        .route(
            "/v1/integrations/erp/{provider}/webhooks/{topic}",
            post(|s, p, c, u, h, b| receive(Family::Erp, s, p, c, u, h, b)),
        )
        .route(
            "/v1/integrations/{slug}/webhook",
            post(super::partner::receive),
        )
        .route(
            "/v1/integrations/payments/{provider}/notifications",
            post(super::payments::receive),
        )
        .route(
            "/api/v1/inbound/{provider}/order-status",
            post(super::order_status::receive),
        )
        .layer(DefaultBodyLimit::max(WEBHOOK_LIMIT))
        .merge(
            Router::new()
                .route(
                    "/v1/integrations/seller/{provider}/import",
                    post(|s, Path(provider): Path<String>, c, u, h, b| {
                        receive(
                            Family::Seller,
                            s,
                            Path((provider, "import".into())),
                            c,
                            u,
                            h,
                            b,
                        )
                    }),
                )
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .with_state(state)
}

/// Header names whose values never get stored.
pub(super) fn redact(headers: &HeaderMap) -> (Vec<(String, String)>, serde_json::Value) {
    let mut pairs = Vec::with_capacity(headers.len());
    let mut stored = serde_json::Map::new();
    for (name, value) in headers {
        let name = name.as_str().to_ascii_lowercase();
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let secret = name == "authorization"
            || name == "cookie"
            || name.contains("signature")
            || name.contains("api-key")
            || name.contains("token")
            || name.contains("secret");
        stored.insert(
            name.clone(),
            json!(if secret {
                "[redacted]".to_string()
            } else {
                value.clone()
            }),
        );
        pairs.push((name, value));
    }
    (pairs, serde_json::Value::Object(stored))
}

pub(super) fn refused(state: &Inbound, provider: &str, why: AuthFailure) -> Response {
    state.failures.record(provider, why.as_str());
    ApiError(AppError::InvalidSignature(
        "The webhook could not be authenticated: check the account header, the signature and the shared secret.".into(),
    ))
    .into_response()
}

async fn receive(
    family: Family,
    State(state): State<Inbound>,
    Path((provider, topic)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(adapter) = registry::find(family, &provider) else {
        return ApiError(AppError::NotFound(format!(
            "No {} provider named {provider:?}.",
            family.as_str()
        )))
        .into_response();
    };
    let topic = match Topic::parse(&topic) {
        Some(t) if adapter.topics().contains(&t) => t,
        _ => {
            return ApiError(AppError::NotFound(format!(
                "{provider} does not post {topic:?} webhooks."
            )))
            .into_response()
        }
    };
    let (pairs, stored_headers) = redact(&headers);
    let url = format!(
        "{}{}",
        state.public_url,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    );
    let delivery = Delivery {
        topic,
        headers: &pairs,
        body: &body,
        remote_ip: Some(peer.ip()),
        url: &url,
    };
    let account = match adapter.account(&delivery) {
        // Account ids are at most 200 characters when connected: a longer
        // one is unknown without a lookup (and never fills the cache).
        Ok(a) if a.len() <= 200 => a,
        Ok(_) => return refused(&state, &provider, AuthFailure::UnknownAccount),
        Err(why) => return refused(&state, &provider, why),
    };
    let resolved = match state
        .pipeline
        .connections
        .resolve(&state.db, &state.keys.current(), &provider, &account)
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => return refused(&state, &provider, AuthFailure::UnknownAccount),
        Err(e) => {
            tracing::error!(error = %e, "connection lookup failed");
            return unavailable();
        }
    };
    let connection = &resolved.connection;
    if !allowlist::allows(&resolved.allowlist, peer.ip()) {
        return refused(&state, &provider, AuthFailure::AddressNotAllowed);
    }
    let secret = &resolved.secret;
    if let Err(why) = adapter.verify(&delivery, secret, entity::now().unix_timestamp()) {
        return refused(&state, &provider, why);
    }
    let body_sha256 = hex::encode(Sha256::digest(&body));
    let idempotency_key = adapter
        .idempotency_key(&delivery)
        .unwrap_or_else(|| format!("sha256:{}:{body_sha256}", topic.as_str()));
    // A scripted adapter's transformer runs before the acknowledgement, so
    // a script that fails answers 5xx and the vendor retries.
    let (intake, refusal) = if adapter.scripted() {
        let input = || {
            transform::script_input(
                &provider,
                topic,
                Some(&connection.account_id),
                &stored_headers,
                &body,
            )
        };
        match transform::transform(adapter, &state.pipeline.transformers, topic, input, &body).await
        {
            Ok(Transformed::Parsed(_)) => (Intake::Accept, None),
            Ok(Transformed::Skip(reason)) => (Intake::Skip(reason), None),
            Err(TransformFailure::Script(TransformError::Lookup(e))) => {
                tracing::error!(error = %e, "script lookup failed");
                return unavailable();
            }
            Err(e) => {
                let refusal: AppError = match e.clone() {
                    TransformFailure::Script(s) => s.into(),
                    other => AppError::TransformFailed(other.to_string()),
                };
                tracing::warn!(provider = %provider, topic = topic.as_str(), error = %e, "inbound transform failed");
                let intake = Intake::Fail {
                    class: inbound_event::failure::PROCESSING,
                    reason: e.to_string(),
                };
                (intake, Some(refusal))
            }
        }
    } else {
        (Intake::Accept, None)
    };
    let skip_reason = match &intake {
        Intake::Skip(reason) => Some(reason.clone()),
        _ => None,
    };
    let submitted = state
        .ack
        .submit(NewEvent {
            merchant_id: connection.merchant_id,
            connection_id: connection.id,
            provider: provider.clone(),
            family: family.as_str().into(),
            topic: topic.as_str().into(),
            headers: stored_headers,
            body,
            body_sha256,
            idempotency_key,
            intake,
        })
        .await;
    match submitted {
        Ok(Ack::Failed { event_id }) => {
            let error = refusal.unwrap_or(AppError::Internal);
            tracing::info!(event = %event_id, code = error.code(), "inbound delivery refused after storing it");
            ApiError(error).into_response()
        }
        Ok(Ack::Skipped { event_id }) => Json(json!({
            "status": "skipped",
            "event_id": event_id,
            "reason": skip_reason,
        }))
        .into_response(),
        Ok(Ack::Accepted { event_id }) => {
            Json(json!({"status": "accepted", "event_id": event_id})).into_response()
        }
        Ok(Ack::Duplicate { event_id, original }) => Json(json!({
            "status": "duplicate",
            "event_id": event_id,
            "duplicate_of": original,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "inbound delivery not stored");
            unavailable()
        }
    }
}

pub(super) fn unavailable() -> Response {
    ApiError(AppError::Unavailable(
        "The delivery could not be stored right now; retry later.".into(),
    ))
    .into_response()
}
