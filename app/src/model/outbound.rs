//! Wire types of the outbound side: webhook endpoints, deliveries and their
//! attempts, orders and their dispatch. Seed 004's contracts are camelCase.
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A partner's webhook endpoint (the secret is never part of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub id: Uuid,
    /// The outlet (location) it receives for; `None` for every location.
    pub outlet_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    /// Event types it takes; `["*"]` for all.
    pub events: Vec<String>,
    /// `cata`, `posz` or `standard` (Standard Webhooks).
    pub format: String,
    pub enabled: bool,
    /// Why Plugboard disabled it, when it did.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed (RFC 3339).
    pub failing_since: Option<String>,
    /// The previous secret is still signed with until then (RFC 3339).
    pub previous_secret_until: Option<String>,
    pub created_at: String,
}

/// What registering an endpoint takes (`POST /api/v1/webhooks/register`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointInput {
    pub url: String,
    #[serde(default)]
    pub outlet_id: Option<Uuid>,
    /// Defaults to every event (`["*"]`).
    #[serde(default)]
    pub events: Vec<String>,
    /// Defaults to `cata`.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A registered endpoint with its secret, shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointCreated {
    pub endpoint: WebhookEndpoint,
    /// Verify signatures with this; it is not shown again.
    pub secret: String,
}

/// Deliveries to one endpoint per hour (the success-rate chart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRate {
    /// Start of the hour (RFC 3339).
    pub hour: String,
    pub succeeded: u32,
    pub failed: u32,
}

/// One endpoint with its recent deliveries and success rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EndpointLog {
    pub endpoint: WebhookEndpoint,
    pub deliveries: Vec<Delivery>,
    /// The last 24 hours, oldest first.
    pub rates: Vec<DeliveryRate>,
}

/// One message in the outbound queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Also `X-Cata-Delivery-ID` / `webhook-id`.
    pub id: Uuid,
    pub merchant_id: Uuid,
    /// `webhook` or `pos`.
    pub target: String,
    pub endpoint_id: Option<Uuid>,
    pub endpoint_url: Option<String>,
    /// The POS provider of a `pos` delivery.
    pub provider: Option<String>,
    pub event_type: String,
    pub order_id: Option<Uuid>,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// One attempt at a delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub attempt: i32,
    pub attempted_at: String,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// `success`, `http_status`, `body_error` or `transport`.
    pub outcome: String,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// A delivery with its body and every attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetail {
    pub delivery: Delivery,
    /// The exact bytes sent (as text).
    pub body: String,
    pub attempts: Vec<DeliveryAttempt>,
}

/// `POST /api/v1/orders/dispatch` (seed 004).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DispatchRequest {
    pub outlet_id: Uuid,
    pub event: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub order: serde_json::Value,
    #[serde(default)]
    pub built_in_transformer: Option<String>,
}

/// The answer of a dispatch, whichever path ran (seed 004).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DispatchResponse {
    pub code: u16,
    pub is_success: bool,
    pub message: String,
    pub order_id: Uuid,
    pub external_order_id: String,
    pub dispatched: bool,
    /// Set only when `dispatched` is false.
    pub reason: String,
}

/// An order as merchants and partners see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Uuid,
    pub outlet_id: Uuid,
    /// The caller's own id (`order.id`).
    pub reference: String,
    pub status: String,
    pub version: i32,
    pub total_minor: i64,
    /// The total in major units, as text (`75000.00`).
    pub total: String,
    pub currency: String,
    pub external_order_id: Option<String>,
    pub external_provider: Option<String>,
    /// `pending`, `dispatched` or `failed`.
    pub dispatch_status: String,
    pub dispatch_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One status an order went through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub from: Option<String>,
    pub to: String,
    pub version: i32,
    pub source: String,
    pub at: String,
}

/// One attachment on an order's receipt (`receipt_qr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReceiptAttachment {
    pub position: i32,
    pub integration: String,
    /// `qr`: `content` is what the QR encodes.
    pub kind: String,
    pub label: String,
    pub content: String,
}

/// What an order's receipt carries besides the order itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub order_id: Uuid,
    pub attachments: Vec<ReceiptAttachment>,
}

/// An order with its history, dispatches and receipt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderDetail {
    pub order: Order,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub payload: serde_json::Value,
    pub history: Vec<StatusChange>,
    pub deliveries: Vec<DeliveryDetail>,
    pub receipt: Receipt,
    /// Refunds of the order, oldest first.
    pub refunds: Vec<Refund>,
}

/// `POST /api/v1/orders/{orderId}/refunds`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundRequest {
    /// In the order's currency, as a string or number (`"5000"`,
    /// `"12500.50"`); at most what is left unrefunded.
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub amount: serde_json::Value,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A refund of (part of) a paid order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    pub created_at: String,
}

/// `POST /api/v1/orders/{orderId}/status` (seed 002's plain path).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdate {
    pub status: String,
    /// The version the caller last saw; a stale one is refused (409).
    #[serde(default)]
    pub version: Option<i32>,
}

/// What a status update did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdated {
    pub order_id: Uuid,
    pub previous_status: String,
    pub current_status: String,
    pub version: i32,
    /// False when the order already had that status (idempotent repeat).
    pub changed: bool,
}
