//! Who changed what, when: every lifecycle change, without secrets.
use sea_orm::entity::prelude::*;

/// One audit entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: Option<Uuid>,
    /// `user:<id>`, `token:<id>` or `cli`.
    pub actor: String,
    /// e.g. `install.created`, `install.disabled`.
    pub action: String,
    /// e.g. `install:<id>`.
    pub target: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub created_at: TimeDateTimeWithTimeZone,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
