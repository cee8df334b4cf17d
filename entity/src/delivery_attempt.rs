//! One attempt at a delivery: when, what came back, how long it took.
use sea_orm::entity::prelude::*;

/// Values of `outcome`.
pub mod outcome {
    pub const SUCCESS: &str = "success";
    /// A non-2xx answer.
    pub const HTTP_STATUS: &str = "http_status";
    /// A 2xx whose body said it failed (`{"status":"ERROR"}`).
    pub const BODY_ERROR: &str = "body_error";
    /// No answer: DNS, connect, TLS, timeout, refused address.
    pub const TRANSPORT: &str = "transport";
    /// The POS transformer could not build the request (no active script,
    /// a throw, a broken output).
    pub const TRANSFORM: &str = "transform";
    /// Not sent and never will be as things stand (the endpoint was
    /// deleted or disabled, the outlet has no install, the transformer
    /// skipped the order): the delivery fails at once.
    pub const UNSENDABLE: &str = "unsendable";
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: Uuid,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub attempted_at: TimeDateTimeWithTimeZone,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub outcome: String,
    /// The first KB of the answer's body.
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
