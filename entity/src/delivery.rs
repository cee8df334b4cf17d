//! One outbound message in the durable queue: the exact bytes to send, to
//! a partner endpoint (signed webhook) or to a POS through its transformer.
use sea_orm::entity::prelude::*;

/// Values of `target`.
pub mod target {
    /// A registered webhook endpoint (`endpoint_id`).
    pub const WEBHOOK: &str = "webhook";
    /// A POS's own API through its provider's transformer (`provider`).
    pub const POS: &str = "pos";
}

/// Values of `status`.
pub mod status {
    /// Waiting for its next attempt (`next_attempt_at`).
    pub const PENDING: &str = "pending";
    pub const SUCCEEDED: &str = "succeeded";
    /// Every attempt of the schedule failed (or the endpoint was disabled).
    pub const FAILED: &str = "failed";
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    /// Also the delivery id partners see (`X-Cata-Delivery-ID`,
    /// `webhook-id`), the same on every attempt so they can dedupe.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub location_id: Option<Uuid>,
    pub target: String,
    pub endpoint_id: Option<Uuid>,
    pub provider: Option<String>,
    pub event_type: String,
    /// Deliveries of one order reach an endpoint in creation order.
    pub order_id: Option<Uuid>,
    /// The exact bytes that are signed and sent.
    pub body: Vec<u8>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<TimeDateTimeWithTimeZone>,
    /// A worker holds the delivery until then (crash-safe claim).
    pub claimed_until: Option<TimeDateTimeWithTimeZone>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub external_order_id: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub finished_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
