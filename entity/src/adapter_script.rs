//! One deployed version of a JS transformer script, keyed by (provider,
//! topic, version); at most one version per (provider, topic) is active.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "adapter_scripts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub topic: String,
    pub version: String,
    /// SHA-256 of `source`, hex.
    pub checksum: String,
    pub source: String,
    pub active: bool,
    /// `cli` for `plugboard scripts deploy`, else the user's email.
    pub deployed_by: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub activated_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
