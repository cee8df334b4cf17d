//! Read model: one variant of an item at a location (name, price,
//! availability), as the inbound pipeline last set it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_variants")]
pub struct Model {
    pub merchant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub location_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub variant_id: Uuid,
    pub item_id: Uuid,
    pub provider_variant_id: String,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    pub available: bool,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
