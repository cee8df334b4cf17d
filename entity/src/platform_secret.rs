//! The 32-byte secret Plugboard shares with a `platform_shared` partner.
use sea_orm::entity::prelude::*;

/// One secret generation. The newest without `retires_at` signs; older ones
/// still verify until `retires_at` (the rotation overlap).
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub integration_slug: String,
    /// Sent as the JWT `kid`.
    pub key_id: String,
    /// Sealed with the key ring.
    pub secret: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub retires_at: Option<TimeDateTimeWithTimeZone>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformSecret")
            .field("integration_slug", &self.integration_slug)
            .field("key_id", &self.key_id)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

/// No relations needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
