//! The slots an install holds on each location's surfaces.
//!
//! The primary key (merchant, location, surface, slot) is what makes mode
//! conflicts and caps hold under concurrency: a replace-mode capability has
//! one slot per location, an add-mode capability with cap N has N, and
//! `integration:<slug>` keeps one install of an integration per location.
use sea_orm::entity::prelude::*;

/// One held slot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "install_slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub merchant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub location_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub surface: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i32,
    pub install_id: Uuid,
}

/// Relations of a slot.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::install::Entity",
        from = "Column::InstallId",
        to = "super::install::Column::Id",
        on_delete = "Cascade"
    )]
    Install,
}

impl Related<super::install::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Install.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
