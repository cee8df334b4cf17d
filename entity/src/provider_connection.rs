//! A merchant's account at an inbound provider (a POS, a WMS, a seller
//! feed): how its deliveries are attributed and verified.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    /// Adapter name, e.g. `restopos`.
    pub provider: String,
    /// The provider's id for the merchant's account; unique per provider.
    pub account_id: String,
    /// Webhook secret or API key, sealed with [`crate::crypto::KeyRing`].
    pub secret: String,
    /// Allowed sender addresses or CIDR blocks; empty allows any.
    pub ip_allowlist: Json,
    /// Unknown SKUs create items instead of failing mapping.
    pub allow_new_items: bool,
    pub enabled: bool,
    pub created_at: TimeDateTimeWithTimeZone,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConnection")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
