//! One authenticated inbound delivery: where its raw body is, what became
//! of it. Written before the sender gets its acknowledgement.
use sea_orm::entity::prelude::*;

/// Values of `status`.
pub mod status {
    /// Stored and acknowledged; not processed yet.
    pub const RECEIVED: &str = "received";
    pub const PROCESSED: &str = "processed";
    /// A script returned the skip sentinel.
    pub const SKIPPED: &str = "skipped";
    pub const FAILED: &str = "failed";
    /// A repeat of an earlier delivery (see `duplicate_of`).
    pub const DUPLICATE: &str = "duplicate";
}

/// Values of `failure_class`.
pub mod failure {
    pub const MAPPING: &str = "mapping";
    pub const VALIDATION: &str = "validation";
    pub const PROCESSING: &str = "processing";
    pub const DUPLICATE: &str = "duplicate";
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub connection_id: Uuid,
    pub provider: String,
    pub family: String,
    pub topic: String,
    pub location_id: Option<Uuid>,
    pub provider_store_id: Option<String>,
    pub received_at: TimeDateTimeWithTimeZone,
    /// Request headers, secrets redacted.
    pub headers: Json,
    pub blob_key: String,
    pub body_sha256: String,
    pub body_size: i64,
    pub idempotency_key: String,
    pub status: String,
    pub failure_class: Option<String>,
    pub failure_reason: Option<String>,
    pub duplicate_of: Option<Uuid>,
    pub attempts: i32,
    /// A processor holds the event until then (crash-safe claim).
    pub claimed_until: Option<TimeDateTimeWithTimeZone>,
    pub processed_at: Option<TimeDateTimeWithTimeZone>,
    /// Canonical commands the event applied: once processed, all of them;
    /// while a large import is applied in chunks, those done so far.
    pub commands_applied: Option<i64>,
    /// Canonical commands in the event's plan, once planned (the total an
    /// import's progress counts towards).
    pub commands_total: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
