//! Which capabilities an integration provides.
use sea_orm::entity::prelude::*;

/// One (integration, capability) pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integration_capabilities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub integration_slug: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub capability_slug: String,
}

/// Relations of the pair.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::integration::Entity",
        from = "Column::IntegrationSlug",
        to = "super::integration::Column::Slug",
        on_delete = "Cascade"
    )]
    Integration,
    #[sea_orm(
        belongs_to = "super::capability::Entity",
        from = "Column::CapabilitySlug",
        to = "super::capability::Column::Slug"
    )]
    Capability,
}

impl Related<super::integration::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Integration.def()
    }
}

impl Related<super::capability::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Capability.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
