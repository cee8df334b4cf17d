//! A merchant: the tenant that owns locations, installs and API tokens.
use sea_orm::entity::prelude::*;

/// One merchant account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merchants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Bumped by every change of the merchant's installs (serialises them).
    pub slot_version: i32,
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of a merchant.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::location::Entity")]
    Location,
    #[sea_orm(has_many = "super::user::Entity")]
    User,
}

impl Related<super::location::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Location.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
