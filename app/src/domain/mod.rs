//! The marketplace domain the UI and the JSON API share (server only).
//!
//! Each function takes the tenant explicitly; nothing here reads a request.

pub mod accounts;
pub mod audit;
pub mod capabilities;
pub mod catalog;
pub mod catalog_file;
pub mod demo;
pub mod group_commit;
pub mod inbound;
pub mod install_config;
pub mod installs;
pub mod live;
pub mod locations;
pub mod oauth;
pub mod orders;
pub mod outbound;
pub mod partner_webhooks;
pub mod password;
pub mod payments;
pub mod platform_jwt;
pub mod scripts;
pub mod state;
pub mod support;
pub mod tokens;

pub use state::AppState;

use crate::error::AppError;

/// Turns a unique-constraint violation into a conflict with `message`; any
/// other database error stays internal.
pub(crate) fn conflict_on_unique(err: sea_orm::DbErr, message: &str) -> AppError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Conflict(message.to_string())
        }
        _ => err.into(),
    }
}

/// Formats a timestamp as RFC 3339 for the wire.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Begins a transaction that will write. On SQLite its first statement is a
/// write (that changes nothing), so it takes the write lock at once: a
/// transaction that reads first cannot upgrade to writing once another
/// connection has committed, and fails with "database is locked" instead
/// of waiting its turn.
pub(crate) async fn begin_write<C: sea_orm::TransactionTrait>(
    db: &C,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    let txn = db.begin().await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        txn.execute_unprepared("UPDATE outbox_cursors SET last_id = last_id WHERE 0")
            .await?;
    }
    Ok(txn)
}
