//! The merchant's outbound side in the browser: webhook endpoints with
//! their delivery logs, orders with their status and dispatch attempts,
//! test orders, and resends. Resends and test orders are recorded in the
//! database and carried out by the server's delivery workers.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::outbound::{
    Delivery, EndpointLog, Order, OrderDetail, WebhookEndpoint, WebhookEndpointCreated,
};
use crate::model::LocationRef;

/// The webhooks page: endpoints and the locations they can be scoped to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WebhooksOverview {
    pub endpoints: Vec<WebhookEndpoint>,
    pub locations: Vec<LocationRef>,
}

/// The orders page: newest orders and the locations.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrdersOverview {
    pub orders: Vec<Order>,
    pub locations: Vec<LocationRef>,
}

/// The merchant's endpoints.
#[server(endpoint = "load_webhooks")]
pub async fn load_webhooks() -> Result<WebhooksOverview, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            Ok(WebhooksOverview {
                endpoints: crate::domain::outbound::endpoints::list(&state.db, merchant).await?,
                locations: crate::domain::locations::refs(&state.db, merchant).await?,
            })
        }
        .await,
    )
}

/// Registers an endpoint; the answer holds the secret, shown once.
#[server(endpoint = "register_endpoint")]
pub async fn register_endpoint(
    url: String,
    outlet_id: String,
    format: String,
    events: String,
) -> Result<WebhookEndpointCreated, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let outlet_id = match outlet_id.trim() {
                "" => None,
                raw => Some(
                    raw.parse()
                        .map_err(|_| AppError::field("outletId", "Choose a location."))?,
                ),
            };
            let input = crate::model::outbound::WebhookEndpointInput {
                url,
                outlet_id,
                events: events
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                format: Some(format),
                description: None,
            };
            crate::domain::outbound::endpoints::register(
                &state.db,
                &state.keys.current(),
                &state.outbound.policy,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                &input,
            )
            .await
        }
        .await,
    )
}

/// One endpoint with its delivery log and success rate.
#[server(endpoint = "load_endpoint")]
pub async fn load_endpoint(id: String) -> Result<EndpointLog, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "webhook endpoint")?;
            crate::domain::outbound::deliveries::endpoint_log(&state.db, merchant, id, 50).await
        }
        .await,
    )
}

/// Enables (`enabled` = "true") or disables an endpoint.
#[server(endpoint = "set_endpoint_enabled")]
pub async fn set_endpoint_enabled(
    id: String,
    enabled: String,
) -> Result<WebhookEndpoint, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "webhook endpoint")?;
            crate::domain::outbound::endpoints::set_enabled(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                id,
                enabled == "true",
            )
            .await
        }
        .await,
    )
}

/// Sends one of the merchant's deliveries again (the workers attempt it).
#[server(endpoint = "resend_delivery")]
pub async fn resend_delivery(id: String) -> Result<Delivery, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "delivery")?;
            let d = crate::domain::outbound::deliveries::resend(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                Some(merchant),
                id,
            )
            .await?;
            state.outbound.wake();
            Ok(d)
        }
        .await,
    )
}

/// The merchant's newest orders, at one location (`location` id) or all.
#[server(endpoint = "load_orders")]
pub async fn load_orders(location: Option<String>) -> Result<OrdersOverview, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let location = match location.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(raw) => Some(super::parse_id(raw, "location")?),
            };
            Ok(OrdersOverview {
                orders: crate::domain::orders::list(&state.db, merchant, location, 100).await?,
                locations: crate::domain::locations::refs(&state.db, merchant).await?,
            })
        }
        .await,
    )
}

/// One order with its history, dispatch attempts and receipt.
#[server(endpoint = "load_order")]
pub async fn load_order(id: String) -> Result<OrderDetail, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "order")?;
            crate::domain::orders::detail(&state.db, merchant, id).await
        }
        .await,
    )
}

/// Dispatches a sample order paid at a location, as a POS would: it goes
/// to the location's endpoints (the workers send it at once).
#[server(endpoint = "dispatch_test_order")]
pub async fn dispatch_test_order(outlet_id: String) -> Result<Order, AppError> {
    super::finish(
        async move {
            use crate::domain::orders::dispatch;
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let outlet_id = outlet_id
                .trim()
                .parse()
                .map_err(|_| AppError::field("outlet_id", "Choose a location."))?;
            let reference = format!("TEST-{}", uuid::Uuid::now_v7().simple());
            let order = serde_json::json!({
                "id": reference,
                "currency": "IDR",
                "total": 75000,
                "diningOption": "PICKUP",
                "guests": 2,
                "items": [
                    {"sku": "101", "name": "Nasi Goreng", "quantity": 2, "price": 25000},
                    {"sku": "102", "name": "Es Teh Manis", "quantity": 1, "price": 25000}
                ],
                "customer": {"name": "Test customer"},
                "notes": "A test order from the Orders page"
            });
            let req = crate::model::outbound::DispatchRequest {
                outlet_id,
                event: "order.paid".into(),
                order,
                built_in_transformer: None,
            };
            let valid = dispatch::validate(&req)?;
            let body = serde_json::to_vec(&req.order).map_err(|_| AppError::Internal)?;
            let persisted =
                dispatch::persist(&state.db, merchant, &req, valid, body, false).await?;
            state.outbound.wake();
            Ok(crate::domain::orders::view(&persisted.order))
        }
        .await,
    )
}
