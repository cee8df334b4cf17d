//! Drives the dispatcher from the outbox: order events are read in commit
//! order past this consumer's cursor, routed to the adapters, and their
//! effects written in the same transaction that moves the cursor, so each
//! event is handled once even across restarts. With several processes the
//! cursor update is guarded: only one of them wins a batch.
use entity::crypto::KeyRing;
use entity::{order, outbox, outbox_cursor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::{dispatch, DomainEvent, Effect};
use crate::domain::orders::{receipt, status};
use crate::error::AppResult;

/// This consumer's name in `outbox_cursors`.
pub const CONSUMER: &str = "capability-dispatcher";

/// The topics whose events the dispatcher routes: order events (paid,
/// status changes, refunds) and install events (settings changed).
const TOPICS: [&str; 2] = [status::TOPIC, crate::domain::installs::TOPIC];

/// How old an outbox row must be before the cursor passes it on
/// PostgreSQL (longer than any transaction that writes the outbox).
const SETTLE: time::Duration = time::Duration::seconds(2);

/// Handles up to `limit` outbox events; answers how many were read.
pub async fn run_once(db: &DatabaseConnection, keys: &KeyRing, limit: u64) -> AppResult<usize> {
    // A plain read first: an idle dispatcher never takes the write lock.
    let seen = outbox_cursor::Entity::find_by_id(CONSUMER.to_string())
        .one(db)
        .await?
        .map(|c| c.last_id)
        .unwrap_or(0);
    if outbox::Entity::find()
        .filter(outbox::Column::Topic.is_in(TOPICS))
        .filter(outbox::Column::Id.gt(seen))
        .one(db)
        .await?
        .is_none()
    {
        return Ok(0);
    }
    let txn = crate::domain::begin_write(db).await?;
    let cursor = match outbox_cursor::Entity::find_by_id(CONSUMER.to_string())
        .one(&txn)
        .await?
    {
        Some(c) => c,
        None => {
            outbox_cursor::ActiveModel {
                consumer: Set(CONSUMER.into()),
                last_id: Set(0),
                updated_at: Set(entity::now()),
            }
            .insert(&txn)
            .await?
        }
    };
    // Only order and install events concern the dispatcher
    // (ix_outbox_topic_id).
    let mut q = outbox::Entity::find()
        .filter(outbox::Column::Topic.is_in(TOPICS))
        .filter(outbox::Column::Id.gt(cursor.last_id))
        .order_by_asc(outbox::Column::Id)
        .limit(limit);
    if txn.get_database_backend() == DbBackend::Postgres {
        // PostgreSQL hands out ids at insert and commits in any order: a
        // row younger than this may still be joined by a smaller id, which
        // the cursor would then pass. SQLite commits one writer at a time.
        q = q.filter(outbox::Column::CreatedAt.lt(entity::now() - SETTLE));
    }
    let rows = q.all(&txn).await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        txn.rollback().await?;
        return Ok(0);
    };
    for row in &rows {
        // One event's trouble must not hold the others back forever.
        let savepoint = txn.begin().await?;
        match handle(&savepoint, keys, row).await {
            Ok(()) => savepoint.commit().await?,
            Err(e) => {
                savepoint.rollback().await?;
                tracing::error!(outbox = row.id, error = %e, "capability dispatch of an event failed; skipped");
            }
        }
    }
    let moved = outbox_cursor::Entity::update_many()
        .col_expr(outbox_cursor::Column::LastId, Expr::value(last))
        .col_expr(outbox_cursor::Column::UpdatedAt, Expr::value(entity::now()))
        .filter(outbox_cursor::Column::Consumer.eq(CONSUMER))
        .filter(outbox_cursor::Column::LastId.eq(cursor.last_id))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        // Another process handled this batch first.
        txn.rollback().await?;
        return Ok(0);
    }
    txn.commit().await?;
    Ok(rows.len())
}

async fn handle(
    txn: &sea_orm::DatabaseTransaction,
    keys: &KeyRing,
    row: &outbox::Model,
) -> AppResult<()> {
    let event_type = row
        .payload
        .get("event")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let order_id = row
        .payload
        .get("orderId")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok());
    let Some(order) = (match order_id {
        Some(id) => order::Entity::find_by_id::<uuid::Uuid>(id).one(txn).await?,
        None => None,
    }) else {
        // An event about a location, not an order (settings changed): the
        // adapters that take it are called; there is no receipt to add to.
        let location = row
            .payload
            .get("outletId")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok());
        if let (None, Some(location_id)) = (order_id, location) {
            let event = DomainEvent {
                event_type,
                merchant_id: row.merchant_id,
                location_id,
                order: None,
                payload: row.payload.clone(),
            };
            dispatch(txn, keys, &event).await?;
        }
        return Ok(());
    };
    let event = DomainEvent {
        event_type,
        merchant_id: order.merchant_id,
        location_id: order.location_id,
        order: Some(order.clone()),
        payload: row.payload.clone(),
    };
    let effects = dispatch(txn, keys, &event).await?;
    let attachments: Vec<_> = effects
        .into_iter()
        .map(|(install, effect)| match effect {
            Effect::ReceiptAttachment {
                kind,
                label,
                content,
            } => (install, kind, label, content),
        })
        .collect();
    if !attachments.is_empty() {
        receipt::attach(txn, &order, attachments).await?;
    }
    Ok(())
}
