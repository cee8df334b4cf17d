//! Capabilities: the named surfaces of the POS an integration can fill.
use sea_orm::entity::prelude::*;

/// One capability, e.g. `receipt_qr` (add, max 3, live).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "capabilities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub slug: String,
    pub surface: String,
    /// `add` or `replace`.
    pub mode: String,
    /// Maximum add-mode installs per effective location; `None` = uncapped.
    pub cap: Option<i32>,
    /// `live` or `reserved`.
    pub status: String,
    pub capability_version: i32,
}

/// Relations of a capability.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::integration_capability::Entity")]
    IntegrationCapability,
}

impl Related<super::integration_capability::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IntegrationCapability.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
