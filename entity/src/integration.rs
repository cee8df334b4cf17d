//! Integrations of the catalog (SplitEasy, Qlub, Xero, …).
use sea_orm::entity::prelude::*;

/// One integration in the catalog.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub slug: String,
    pub name: String,
    pub category_slug: String,
    /// `platform_shared`, `merchant_key` or `oauth`.
    pub auth_shape: String,
    /// JSON Schema of the per-install configuration.
    pub config_schema: Json,
    pub summary: String,
    pub description: String,
    pub partner_url: Option<String>,
    /// `available` or `coming_soon`.
    pub status: String,
    /// `oauth` integrations: the provider's endpoints and scopes
    /// (authorize_url, token_url, revocation_url, scopes, authorize_params).
    pub oauth: Option<Json>,
    /// Version of the catalog file this row was last loaded from.
    pub catalog_version: i32,
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of an integration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::category::Entity",
        from = "Column::CategorySlug",
        to = "super::category::Column::Slug"
    )]
    Category,
    #[sea_orm(has_many = "super::integration_capability::Entity")]
    IntegrationCapability,
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Category.def()
    }
}

impl Related<super::integration_capability::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IntegrationCapability.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
