//! Wire types of payments: creating a QRIS charge, the payment as the
//! cashier and the API see it, and the live board's events.
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /api/v1/payments` (and seed 003's `POST /transaction/payments`):
/// a charge for an existing order (`orderId`) or for an order given here
/// (`order`, the same shape as a dispatch's), which is saved as PENDING.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentRequest {
    pub outlet_id: Uuid,
    #[serde(default)]
    pub order_id: Option<Uuid>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub order: Option<serde_json::Value>,
    /// Minutes until the QR expires (1 to 1440; default 15).
    #[serde(default)]
    pub expiry_minutes: Option<i64>,
}

/// A provider tried before the one that served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailoverAttempt {
    pub provider: String,
    pub error: String,
    pub latency_ms: u64,
}

/// A QRIS charge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub outlet_id: Uuid,
    /// The order's own reference (`order.id` as the caller sent it).
    pub order_reference: String,
    /// `pending`, `paid`, `expired` or `failed`.
    pub status: String,
    /// The provider that created the charge.
    pub provider: String,
    pub provider_transaction_id: String,
    /// The QRIS payload to render as a QR code.
    pub qr_string: String,
    /// The QR as an SVG image.
    pub qr_image_url: String,
    /// The amount in major units (`"25000.00"`).
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The amount as sent to the provider (`"25000"`).
    pub gross_amount: String,
    pub expires_at: String,
    pub paid_at: Option<String>,
    /// Providers that failed before this one served, in order.
    pub failover: Vec<FailoverAttempt>,
    pub created_at: String,
}
