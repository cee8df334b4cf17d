//! `/api/v1/webhooks` (seed 004): partners register webhook URLs, get the
//! secret once, rotate it, and read each endpoint's delivery log;
//! `/api/v1/deliveries` shows and resends single deliveries.
use app::domain::outbound::{deliveries, endpoints};
use app::domain::AppState;
use app::model::outbound::{
    Delivery, DeliveryDetail, EndpointLog, WebhookEndpoint, WebhookEndpointCreated,
    WebhookEndpointInput,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// Registers a webhook URL; the answer holds the signing secret, shown once.
#[utoipa::path(post, path = "/api/v1/webhooks/register", tag = "webhooks",
    security(("bearer" = [])),
    request_body = WebhookEndpointInput,
    responses((status = 201, description = "Registered; keep the secret", body = WebhookEndpointCreated),
              (status = 400, description = "`invalid_request`: bad URL (or a private address), format or event type", body = ErrorBody),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiJson(input): ApiJson<WebhookEndpointInput>,
) -> Result<(StatusCode, Json<WebhookEndpointCreated>), ApiError> {
    let created = endpoints::register(
        &state.db,
        &state.keys.current(),
        &state.outbound.policy,
        auth.actor(),
        auth.merchant_id,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The merchant's webhook endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    responses((status = 200, description = "Endpoints, oldest first", body = [WebhookEndpoint]),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<WebhookEndpoint>>, ApiError> {
    Ok(Json(endpoints::list(&state.db, auth.merchant_id).await?))
}

/// One endpoint with its newest deliveries and hourly success rate.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses((status = 200, description = "The endpoint and its delivery log", body = EndpointLog),
              (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<EndpointLog>, ApiError> {
    Ok(Json(
        deliveries::endpoint_log(&state.db, auth.merchant_id, id, 100).await?,
    ))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    endpoints::delete(&state.db, auth.actor(), auth.merchant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How long the old secret keeps signing.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// Seconds both secrets sign every delivery (default 86,400; 0 ends the
    /// old one at once; at most 30 days).
    #[serde(default)]
    pub overlap_seconds: Option<i64>,
}

/// A new secret; during the overlap every delivery carries both signatures.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body = Rotation,
    responses((status = 200, description = "The new secret, shown once", body = WebhookEndpointCreated),
              (status = 400, description = "Overlap out of range", body = ErrorBody),
              (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<WebhookEndpointCreated>, ApiError> {
    // The body is optional: none means the default overlap.
    let rotation: Rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("The body is not valid: {e}")))?
    };
    let overlap = rotation.overlap_seconds.unwrap_or(86_400);
    Ok(Json(
        endpoints::rotate_secret(
            &state.db,
            &state.keys.current(),
            auth.actor(),
            auth.merchant_id,
            id,
            time::Duration::seconds(overlap),
        )
        .await?,
    ))
}

/// Enables an endpoint (after fixing what made Plugboard disable it).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/enable", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses((status = 200, description = "Enabled", body = WebhookEndpoint),
              (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn enable(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(
        endpoints::set_enabled(&state.db, auth.actor(), auth.merchant_id, id, true).await?,
    ))
}

/// Disables an endpoint; nothing is sent to it until it is enabled.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/disable", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses((status = 200, description = "Disabled", body = WebhookEndpoint),
              (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(
        endpoints::set_enabled(&state.db, auth.actor(), auth.merchant_id, id, false).await?,
    ))
}

/// One delivery with its body and every attempt.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Delivery id (X-Cata-Delivery-ID / webhook-id)")),
    responses((status = 200, description = "The delivery", body = DeliveryDetail),
              (status = 404, description = "No such delivery", body = ErrorBody)))]
pub async fn delivery(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    Ok(Json(
        deliveries::detail(&state.db, Some(auth.merchant_id), id).await?,
    ))
}

/// Sends a delivery again now.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/resend", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses((status = 202, description = "Queued; the attempt follows shortly", body = Delivery),
              (status = 404, description = "No such delivery", body = ErrorBody),
              (status = 409, description = "Already succeeded, or its endpoint is disabled", body = ErrorBody)))]
pub async fn resend(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    let d = deliveries::resend(&state.db, auth.actor(), Some(auth.merchant_id), id).await?;
    state.outbound.wake();
    Ok((StatusCode::ACCEPTED, Json(d)))
}
