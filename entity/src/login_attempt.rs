//! Failed sign-in attempts, counted to slow down password guessing. Kept in the
//! database so the limit holds across several server processes.
use sea_orm::entity::prelude::*;

/// One failed sign-in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Lower-cased e-mail that was tried.
    pub email: String,
    /// Client address as seen by the server, when known.
    pub ip: Option<String>,
    pub attempted_at: TimeDateTimeWithTimeZone,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
