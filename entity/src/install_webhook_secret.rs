//! The secret a partner signs `POST /v1/integrations/{slug}/webhook` with,
//! one per install, sealed; after a rotation the previous one stays valid
//! until `previous_until`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "install_webhook_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub install_id: Uuid,
    /// Sealed with [`crate::crypto::KeyRing`].
    pub secret: String,
    pub previous: Option<String>,
    pub previous_until: Option<TimeDateTimeWithTimeZone>,
    pub rotated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
