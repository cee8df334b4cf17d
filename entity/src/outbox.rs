//! Canonical commands and events, by topic, in commit order.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `catalog.commands`, `catalog.events`, `pricing.events`, …
    pub topic: String,
    /// `command` or `event`.
    pub kind: String,
    pub merchant_id: Uuid,
    /// Partition key (item or location id).
    pub key: String,
    pub payload: Json,
    pub source_event_id: Option<Uuid>,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
