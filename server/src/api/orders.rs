//! `/api/v1/orders`: dispatch (seed 004), status updates through the one
//! order status service (seed 002's plain path), and reading orders with
//! their history, dispatch attempts and receipt.
use app::domain::orders::dispatch::{self, NO_ROUTE};
use app::domain::orders::status::{self, Change, Source};
use app::domain::orders::{self as order_domain, receipt};
use app::domain::AppState;
use app::model::outbound::{
    DispatchRequest, DispatchResponse, Order, OrderDetail, Receipt, Refund, RefundRequest,
    StatusUpdate, StatusUpdated,
};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// Reason when an earlier delivery of the same order is still being retried.
const QUEUED: &str =
    "queued behind an earlier delivery of this order; it follows once that one is done";

/// Validates, persists, and dispatches an order: the standard signed
/// webhook to the outlet's endpoints, or with `builtInTransformer` the POS's
/// own API. The answer says whether it reached its receiver, and why not.
#[utoipa::path(post, path = "/api/v1/orders/dispatch", tag = "orders",
    security(("bearer" = [])),
    request_body = DispatchRequest,
    responses((status = 200, description = "Persisted; `dispatched` says whether the receiver took it, `reason` why not", body = DispatchResponse),
              (status = 400, description = "`invalid_request`: the order or event is not valid (nothing was sent)", body = ErrorBody),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 409, description = "The order's reference belongs to another outlet", body = ErrorBody)))]
pub async fn dispatch(
    State(state): State<AppState>,
    auth: MerchantAuth,
    body: axum::body::Bytes,
) -> Result<Json<DispatchResponse>, ApiError> {
    let bad = |e: serde_json::Error| {
        ApiError::bad_request(format!("The body is not a valid dispatch request: {e}"))
    };
    let req: DispatchRequest = serde_json::from_slice(&body).map_err(bad)?;
    // The order goes out exactly as it came in: the receiver's signature is
    // over these bytes, never a re-encoding.
    let raw: RawOrder<'_> = serde_json::from_slice(&body).map_err(bad)?;
    let valid = dispatch::validate(&req)?;
    let merchant_id = auth.merchant_id;
    let order_body = raw.order.get().as_bytes().to_vec();
    let persisted = match &state.outbound.writes {
        // With other callers' dispatches, in one commit.
        Some(writes) => {
            writes
                .write(move |txn| {
                    Box::pin(async move {
                        dispatch::persist(txn, merchant_id, &req, valid, order_body, true).await
                    })
                })
                .await?
        }
        None => {
            // SQLite: queue at the process's write gate, not in its busy handler.
            let gate = state.pipeline.as_ref().and_then(|p| p.gate.clone());
            let _turn = match &gate {
                Some(g) => Some(g.urgent().await),
                None => None,
            };
            dispatch::persist(&state.db, merchant_id, &req, valid, order_body, true).await?
        }
    };
    let order_id = persisted.order.id;
    let mut reason = String::new();
    let mut external = String::new();
    if persisted.deliveries.is_empty() {
        reason = NO_ROUTE.to_string();
    }
    for d in persisted.deliveries {
        let attempted = match &state.outbound.sender {
            Some(sender) => sender.attempt_now(d).await?,
            None => None,
        };
        match attempted {
            Some((_, outcome)) if outcome.success => {
                if external.is_empty() {
                    external = outcome.external_order_id.unwrap_or_default();
                }
            }
            Some((_, outcome)) => {
                if reason.is_empty() {
                    reason = outcome.reason;
                }
            }
            None => {
                if reason.is_empty() {
                    reason = QUEUED.to_string();
                }
            }
        }
    }
    let dispatched = reason.is_empty();
    Ok(Json(DispatchResponse {
        code: 200,
        is_success: true,
        message: if dispatched {
            "order dispatched".into()
        } else {
            "order saved; not dispatched".into()
        },
        order_id,
        external_order_id: external,
        dispatched,
        reason,
    }))
}

/// The order of a dispatch request, as sent.
#[derive(Deserialize)]
struct RawOrder<'a> {
    #[serde(borrow)]
    order: &'a serde_json::value::RawValue,
}

/// Which orders to list.
#[derive(Deserialize, IntoParams, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderQuery {
    /// Only this outlet's orders.
    pub outlet_id: Option<Uuid>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<u64>,
}

/// The merchant's newest orders.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders",
    security(("bearer" = [])),
    params(OrderQuery),
    responses((status = 200, description = "Newest first", body = [Order]),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> Result<Json<Vec<Order>>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        order_domain::list(&state.db, auth.merchant_id, q.outlet_id, limit).await?,
    ))
}

/// One order with its status history, dispatch attempts and receipt.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = OrderDetail),
              (status = 404, description = "No such order", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<OrderDetail>, ApiError> {
    Ok(Json(
        order_domain::detail(&state.db, auth.merchant_id, id).await?,
    ))
}

/// What the order's receipt carries from receipt_qr integrations.
#[utoipa::path(get, path = "/api/v1/orders/{id}/receipt", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "The receipt attachments, in print order", body = Receipt),
              (status = 404, description = "No such order", body = ErrorBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Receipt>, ApiError> {
    Ok(Json(
        receipt::receipt(&state.db, auth.merchant_id, id).await?,
    ))
}

/// Moves an order to a new status (ACCEPTED, PREPARING, READY, COMPLETED or
/// CANCELLED). The same status again is a no-op answered 200; a stale
/// `version` is 409 `stale_version`; a move the state machine forbids is
/// 409 `invalid_transition`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/status", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = StatusUpdate,
    responses((status = 200, description = "Applied, or already so (`changed: false`)", body = StatusUpdated),
              (status = 400, description = "Unknown status, or one partners may not set", body = ErrorBody),
              (status = 404, description = "No such order", body = ErrorBody),
              (status = 409, description = "`stale_version` or `invalid_transition`", body = ErrorBody)))]
pub async fn update_status(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<StatusUpdate>,
) -> Result<Json<StatusUpdated>, ApiError> {
    let updated = status::update(
        &state.db,
        Change {
            merchant_id: Some(auth.merchant_id),
            order_id: id,
            status: &body.status,
            expected_version: body.version,
            source: Source::Partner,
        },
    )
    .await?;
    if updated.changed {
        state.outbound.wake();
    }
    Ok(Json(updated))
}

/// Refunds (part of) a paid order and announces `refund.created` to the
/// outlet's endpoints that take it (after the order's earlier deliveries)
/// and to the capability dispatcher.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refunds", tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = RefundRequest,
    responses((status = 201, description = "Recorded and announced", body = Refund),
              (status = 400, description = "`invalid_request`: the amount is not valid or more than is left to refund", body = ErrorBody),
              (status = 404, description = "No such order", body = ErrorBody),
              (status = 409, description = "`invalid_transition`: the order is not paid", body = ErrorBody)))]
pub async fn refund(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RefundRequest>,
) -> Result<(axum::http::StatusCode, Json<Refund>), ApiError> {
    let refund =
        app::domain::orders::refunds::create(&state.db, auth.merchant_id, id, &body).await?;
    state.outbound.wake();
    Ok((axum::http::StatusCode::CREATED, Json(refund)))
}
