//! `POST /v1/integrations/{pos|erp|seller}/{provider}/…`: verify, store,
//! acknowledge. Everything after the acknowledgement is asynchronous.
use std::net::SocketAddr;

use app::domain::inbound::adapter::{Delivery, Family, Topic};
use app::domain::inbound::verify::AuthFailure;
use app::domain::inbound::{allowlist, registry};
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use entity::provider_connection;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::ack::{Ack, NewEvent};
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
            post(|s, p, c, h, b| receive(Family::Pos, s, p, c, h, b)),
        )
        .route(
            "/v1/integrations/erp/{provider}/webhooks/{topic}",
            post(|s, p, c, h, b| receive(Family::Erp, s, p, c, h, b)),
        )
        .layer(DefaultBodyLimit::max(WEBHOOK_LIMIT))
        .merge(
            Router::new()
                .route(
                    "/v1/integrations/seller/{provider}/import",
                    post(|s, Path(provider): Path<String>, c, h, b| {
                        receive(
                            Family::Seller,
                            s,
                            Path((provider, "import".into())),
                            c,
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
fn redact(headers: &HeaderMap) -> (Vec<(String, String)>, serde_json::Value) {
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

fn refused(state: &Inbound, provider: &str, why: AuthFailure) -> Response {
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
    let delivery = Delivery {
        topic,
        headers: &pairs,
        body: &body,
        remote_ip: Some(peer.ip()),
    };
    let account = match adapter.account(&delivery) {
        Ok(a) => a,
        Err(why) => return refused(&state, &provider, why),
    };
    let connection = match provider_connection::Entity::find()
        .filter(provider_connection::Column::Provider.eq(provider.clone()))
        .filter(provider_connection::Column::AccountId.eq(account))
        .one(&state.db)
        .await
    {
        Ok(Some(c)) if c.enabled => c,
        Ok(_) => return refused(&state, &provider, AuthFailure::UnknownAccount),
        Err(e) => {
            tracing::error!(error = %e, "connection lookup failed");
            return unavailable();
        }
    };
    let allowlist: Vec<String> =
        serde_json::from_value(connection.ip_allowlist.clone()).unwrap_or_default();
    if !allowlist::allows(&allowlist, peer.ip()) {
        return refused(&state, &provider, AuthFailure::AddressNotAllowed);
    }
    let secret = match state.keys.current().open(&connection.secret) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, connection = %connection.id, "cannot open the connection secret");
            return unavailable();
        }
    };
    if let Err(why) = adapter.verify(&delivery, &secret, entity::now().unix_timestamp()) {
        return refused(&state, &provider, why);
    }
    let body_sha256 = hex::encode(Sha256::digest(&body));
    let idempotency_key = adapter
        .idempotency_key(&delivery)
        .unwrap_or_else(|| format!("sha256:{}:{body_sha256}", topic.as_str()));
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
        })
        .await;
    match submitted {
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

fn unavailable() -> Response {
    ApiError(AppError::Unavailable(
        "The delivery could not be stored right now; retry later.".into(),
    ))
    .into_response()
}
