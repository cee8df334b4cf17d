//! The outbox relay: hands outbox rows to a sink behind [`EventStream`], in
//! id order, past one consumer's cursor in `outbox_cursors`: `nats-relay`
//! publishes every row to NATS JetStream, `redis-views` keeps the Redis
//! views current (`crate::views`).
//!
//! One replica relays at a time. On PostgreSQL the relay holds the cursor
//! row with `SELECT … FOR UPDATE SKIP LOCKED` while it publishes a batch:
//! other replicas skip it and try again later, and a replica that dies
//! loses the lock with its connection, so another takes over at once. The
//! cursor moves only after the broker acknowledged the whole batch; a crash
//! in between publishes the batch again and JetStream drops the repeats by
//! `Nats-Msg-Id`. PostgreSQL hands out ids at insert but commits in any
//! order, so the relay passes only rows older than [`SETTLE`].
//!
//! Broker down: nothing is lost. The batch is retried with backoff (up to
//! [`MAX_BACKOFF`]), the outbox grows meanwhile, and readiness reports NATS.
use std::sync::Arc;
use std::time::Duration;

use entity::{outbox, outbox_cursor};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::{EventStream, StreamError};

/// One reader of the outbox with its own cursor.
#[derive(Clone, Copy, Debug)]
pub struct Consumer {
    /// Its row in `outbox_cursors`.
    pub name: &'static str,
    /// The topics it reads; empty: every topic.
    pub topics: &'static [&'static str],
}

/// The relay to NATS JetStream: every topic.
pub const NATS: Consumer = Consumer {
    name: "nats-relay",
    topics: &[],
};
/// Rows published per batch.
const BATCH: u64 = 500;
/// How old a row must be before the cursor passes it on PostgreSQL.
pub const SETTLE: time::Duration = time::Duration::seconds(2);
/// How often an idle relay looks for new rows.
const IDLE: Duration = Duration::from_millis(200);
/// The longest wait between retries while the broker is down.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why a relay round failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Stream(#[from] StreamError),
}

/// What one round did.
#[derive(Debug, PartialEq, Eq)]
pub enum Round {
    /// Published this many rows.
    Published(usize),
    /// Nothing new (or not settled yet).
    Idle,
    /// Another replica holds the cursor.
    Busy,
}

/// Publishes the next batch past the cursor.
pub async fn run_once(
    db: &DatabaseConnection,
    consumer: Consumer,
    stream: &dyn EventStream,
) -> Result<Round, RelayError> {
    ensure_cursor(db, consumer.name).await?;
    if db.get_database_backend() != DbBackend::Postgres {
        // SQLite: one process, no transaction held across the publish (a
        // read transaction could not be upgraded to the cursor's write once
        // another writer committed).
        let Some(cursor) = outbox_cursor::Entity::find_by_id(consumer.name.to_string())
            .one(db)
            .await?
        else {
            return Ok(Round::Busy);
        };
        return relay_batch(db, consumer, stream, cursor.last_id, false).await;
    }
    let txn = db.begin().await?;
    // A relay that hangs while holding the cursor loses it.
    txn.execute_unprepared("SET LOCAL idle_in_transaction_session_timeout = '60s'")
        .await?;
    let cursor = outbox_cursor::Entity::find_by_id(consumer.name.to_string())
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .one(&txn)
        .await?;
    let Some(cursor) = cursor else {
        txn.rollback().await?;
        return Ok(Round::Busy);
    };
    let round = relay_batch(&txn, consumer, stream, cursor.last_id, true).await?;
    txn.commit().await?;
    Ok(round)
}

/// Reads the rows past `after`, publishes them and moves the cursor (only
/// from `after`: a second relay can never move it backwards).
async fn relay_batch<C: ConnectionTrait>(
    db: &C,
    consumer: Consumer,
    stream: &dyn EventStream,
    after: i64,
    settle: bool,
) -> Result<Round, RelayError> {
    let mut rows = outbox::Entity::find()
        .filter(outbox::Column::Id.gt(after))
        .order_by_asc(outbox::Column::Id)
        .limit(BATCH);
    if !consumer.topics.is_empty() {
        rows = rows.filter(outbox::Column::Topic.is_in(consumer.topics.iter().copied()));
    }
    if settle {
        rows = rows.filter(outbox::Column::CreatedAt.lt(entity::now() - SETTLE));
    }
    let rows = rows.all(db).await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(Round::Idle);
    };
    stream.publish(&rows).await?;
    let moved = outbox_cursor::Entity::update_many()
        .col_expr(outbox_cursor::Column::LastId, Expr::value(last))
        .col_expr(outbox_cursor::Column::UpdatedAt, Expr::value(entity::now()))
        .filter(outbox_cursor::Column::Consumer.eq(consumer.name))
        .filter(outbox_cursor::Column::LastId.eq(after))
        .exec(db)
        .await?;
    Ok(if moved.rows_affected == 1 {
        Round::Published(rows.len())
    } else {
        Round::Busy
    })
}

async fn ensure_cursor(db: &DatabaseConnection, name: &str) -> Result<(), DbErr> {
    if outbox_cursor::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let insert = outbox_cursor::Entity::insert(outbox_cursor::ActiveModel {
        consumer: Set(name.into()),
        last_id: Set(0),
        updated_at: Set(entity::now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(outbox_cursor::Column::Consumer)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match insert {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Starts `consumer`'s relay loop in this process.
pub fn spawn(db: DatabaseConnection, consumer: Consumer, stream: Arc<dyn EventStream>) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        let mut failing = false;
        loop {
            match run_once(&db, consumer, stream.as_ref()).await {
                Ok(Round::Published(n)) => {
                    if failing {
                        tracing::info!(
                            backend = stream.backend(),
                            "event stream reachable again; relaying"
                        );
                        failing = false;
                    }
                    backoff = Duration::from_millis(500);
                    tracing::debug!(rows = n, "outbox relayed");
                    continue;
                }
                Ok(Round::Idle) | Ok(Round::Busy) => {
                    backoff = Duration::from_millis(500);
                    tokio::time::sleep(IDLE).await;
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "outbox relay failed; the outbox keeps everything and the relay retries with backoff");
                        failing = true;
                    } else {
                        tracing::debug!(error = %e, "outbox relay still failing");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    });
}
