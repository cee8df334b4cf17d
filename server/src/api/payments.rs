//! `/api/v1/payments` (and seed 003's `POST /transaction/payments`):
//! QRIS charges with transparent failover, reading them, their QR image,
//! and the development simulator.
use app::domain::payments::{self, charge};
use app::domain::AppState;
use app::model::payments::{Payment, PaymentRequest};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// Creates a QRIS charge for an order at an outlet through the outlet's
/// payment providers in priority order (Midtrans, then Xendit, unless the
/// installs say otherwise), failing over on a transport error, a timeout
/// or a 5xx. Send `Idempotency-Key` to make retries safe: the same key and
/// body answer the same payment (200, `Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments",
    security(("bearer" = [])),
    request_body = PaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create answer the first payment")),
    responses((status = 201, description = "Created; `provider` says who served, `failover` who failed before", body = Payment),
              (status = 200, description = "A retry with the same Idempotency-Key: the payment it created", body = Payment),
              (status = 400, description = "`invalid_request`: the order, outlet or expiry is not valid", body = ErrorBody),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 404, description = "`integration_not_installed`: no payment provider at the outlet", body = ErrorBody),
              (status = 409, description = "The order is not PENDING, or the Idempotency-Key was used for another request", body = ErrorBody),
              (status = 502, description = "`payment_provider_error`: no provider could create the charge; nothing was saved", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: MerchantAuth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PaymentRequest>,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => {
            return Err(ApiError::bad_request(
                "The Idempotency-Key header must be printable text.",
            ))
        }
    };
    let charged = charge::create(
        &state.db,
        &state.keys.current(),
        &state.payments,
        auth.merchant_id,
        &req,
        key,
    )
    .await?;
    let mut response = if charged.replayed {
        (StatusCode::OK, Json(charged.payment)).into_response()
    } else {
        (StatusCode::CREATED, Json(charged.payment)).into_response()
    };
    if charged.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Which payments to list.
#[derive(Deserialize, IntoParams, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentQuery {
    /// Only this outlet's payments.
    pub outlet_id: Option<Uuid>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<u64>,
}

/// The merchant's newest payments.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments",
    security(("bearer" = [])),
    params(PaymentQuery),
    responses((status = 200, description = "Newest first", body = [Payment]),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiQuery(q): ApiQuery<PaymentQuery>,
) -> Result<Json<Vec<Payment>>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        charge::list(&state.db, auth.merchant_id, q.outlet_id, limit).await?,
    ))
}

/// One payment.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Payment id")),
    responses((status = 200, description = "The payment", body = Payment),
              (status = 404, description = "No such payment", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Payment>, ApiError> {
    Ok(Json(charge::get(&state.db, auth.merchant_id, id).await?))
}

/// The payment's QR code as an SVG image.
#[utoipa::path(get, path = "/api/v1/payments/{id}/qr.svg", tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Payment id")),
    responses((status = 200, description = "`image/svg+xml`", content_type = "image/svg+xml", body = String),
              (status = 404, description = "No such payment", body = ErrorBody)))]
pub async fn qr(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let p = charge::get(&state.db, auth.merchant_id, id).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        payments::qr_svg(&p.qr_string),
    )
        .into_response())
}

/// Development only: makes the provider fake pay the payment, as a
/// customer scanning the QR would; the notification comes back through the
/// inbound gateway like the real one. 404 in production.
#[utoipa::path(post, path = "/api/v1/payments/{id}/simulate", tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Payment id")),
    responses((status = 200, description = "The fake sent the notification; `receiverStatus` is what the gateway answered it"),
              (status = 404, description = "No such payment, or the production configuration", body = ErrorBody),
              (status = 409, description = "The payment is not pending", body = ErrorBody)))]
pub async fn simulate(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status = payments::simulate(&state.db, &state.payments, auth.merchant_id, id).await?;
    Ok(Json(json!({"notified": true, "receiverStatus": status})))
}
