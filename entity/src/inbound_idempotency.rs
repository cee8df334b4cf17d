//! Idempotency keys of inbound deliveries, kept for the retention window.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_idempotency")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub merchant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub event_id: Uuid,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// The first event to take a (provider, merchant, key) keeps it:
    /// inserts of a taken key do nothing.
    pub fn first_keeps_key() -> sea_orm::sea_query::OnConflict {
        sea_orm::sea_query::OnConflict::columns([Column::Provider, Column::MerchantId, Column::Key])
            .do_nothing()
            .to_owned()
    }
}
