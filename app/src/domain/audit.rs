//! Writing the audit log.
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::error::AppResult;

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in person.
    User(Uuid),
    /// A merchant API token.
    Token(Uuid),
    /// The operator's command line.
    Cli,
    /// Plugboard itself (workers).
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// Appends one entry; `before`/`after` must already be free of secrets.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    merchant_id: Option<Uuid>,
    actor: Actor,
    action: &str,
    target: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AppResult<()> {
    audit_log::ActiveModel {
        merchant_id: Set(merchant_id),
        actor: Set(actor.to_string()),
        action: Set(action.to_string()),
        target: Set(target),
        before: Set(before),
        after: Set(after),
        created_at: Set(entity::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The newest entries about one merchant, newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    limit: u64,
) -> AppResult<Vec<crate::model::AuditEntry>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    Ok(audit_log::Entity::find()
        .filter(audit_log::Column::MerchantId.eq(merchant_id))
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|e| crate::model::AuditEntry {
            actor: e.actor,
            action: e.action,
            target: e.target,
            before: e.before,
            after: e.after,
            at: super::rfc3339(e.created_at),
        })
        .collect())
}
