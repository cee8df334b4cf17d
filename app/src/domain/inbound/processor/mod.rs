//! The asynchronous half of the pipeline: every acknowledged delivery
//! (`received`) is claimed, parsed by its adapter, mapped (store → location,
//! SKU → item), validated, and turned into canonical commands and events in
//! the outbox, applied to the read models in the same transaction. A
//! failure marks the event `failed` with its class and reason; nothing is
//! dropped. Claims expire, so a crash mid-way only delays an event.
//!
//! Reading and planning (`plan`) happens outside the write transaction, so
//! the write lock is held only while `record` writes outcomes and `apply`
//! writes the read models; `replay` is support's way back in.

mod apply;
mod plan;
mod record;
mod replay;

use std::sync::Arc;

use entity::inbound_event;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use self::plan::{plan, Batch};
use self::record::{fail, record};
use super::blob::BlobStore;
use crate::domain::scripts::Transformers;
use crate::error::AppResult;

pub use self::replay::replay;

/// What processing needs besides the database.
#[derive(Clone)]
pub struct Pipeline {
    /// Where raw bodies are.
    pub blobs: Arc<dyn BlobStore>,
    /// JS transformers of scripted adapters.
    pub transformers: Transformers,
    /// Provider connections as the gateway resolves them.
    pub connections: super::connection_cache::ConnectionCache,
    /// The single-writer gate (SQLite only).
    pub gate: Option<Arc<super::write_gate::WriteGate>>,
}

/// How long a processor may hold an event before another may take it.
const CLAIM_SECS: i64 = 60;
/// Attempts before an event that keeps erroring is failed.
const MAX_ATTEMPTS: i32 = 5;
/// Category given to new items that arrive without one.
pub const DEFAULT_CATEGORY: &str = "Uncategorised";

/// Why an event failed, with the class support filters on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Mapping(String),
    Validation(String),
    Processing(String),
}

impl Failure {
    pub fn class(&self) -> &'static str {
        match self {
            Failure::Mapping(_) => inbound_event::failure::MAPPING,
            Failure::Validation(_) => inbound_event::failure::VALIDATION,
            Failure::Processing(_) => inbound_event::failure::PROCESSING,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Failure::Mapping(r) | Failure::Validation(r) | Failure::Processing(r) => r,
        }
    }
}

/// The family of `POST /v1/integrations/{slug}/webhook` deliveries.
pub const PARTNER_FAMILY: &str = "partner";

/// Processes up to `limit` received events; answers how many were handled.
///
/// The batch is claimed with one UPDATE (the claim's expiry time, unique to
/// this call, tells which rows this caller won) and processed in one
/// transaction, each event under its own savepoint: one commit, one fsync,
/// for the whole batch, and one event's error cannot undo another's work.
pub async fn process_batch(
    db: &DatabaseConnection,
    pipeline: &Pipeline,
    limit: u64,
) -> AppResult<usize> {
    let now = entity::now();
    let free = inbound_event::Column::ClaimedUntil
        .is_null()
        .or(inbound_event::Column::ClaimedUntil.lt(now));
    let ids: Vec<Uuid> = inbound_event::Entity::find()
        .select_only()
        .column(inbound_event::Column::Id)
        .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
        .filter(free.clone())
        .order_by_asc(inbound_event::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let token = now
        + time::Duration::seconds(CLAIM_SECS)
        + time::Duration::nanoseconds(i64::from(rand::random::<u32>() % 1_000_000));
    let claim_guard = match &pipeline.gate {
        Some(g) => Some(g.background().await),
        None => None,
    };
    inbound_event::Entity::update_many()
        .col_expr(
            inbound_event::Column::ClaimedUntil,
            Expr::value(Some(token)),
        )
        .col_expr(
            inbound_event::Column::Attempts,
            Expr::col(inbound_event::Column::Attempts).add(1),
        )
        .filter(inbound_event::Column::Id.is_in(ids.clone()))
        .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
        .filter(free)
        .exec(db)
        .await?;
    drop(claim_guard);
    let claimed = inbound_event::Entity::find()
        .filter(inbound_event::Column::Id.is_in(ids))
        .filter(inbound_event::Column::ClaimedUntil.eq(token))
        .order_by_asc(inbound_event::Column::Id)
        .all(db)
        .await?;
    // Read and plan outside the write transaction; then write everything
    // under one commit.
    let mut planned = Vec::with_capacity(claimed.len());
    let mut batch = Batch::default();
    for event in &claimed {
        planned.push(plan(db, pipeline, event, &mut batch).await);
    }
    let mut guard = match &pipeline.gate {
        Some(g) => Some(g.background().await),
        None => None,
    };
    let mut txn = db.begin().await?;
    for (event, planned) in claimed.iter().zip(planned) {
        if let (Some(gate), Some(_)) = (&pipeline.gate, &guard) {
            if gate.urgent_waiting() {
                // An acknowledgement is waiting: commit what is done, let
                // it in, and go on in a new transaction.
                txn.commit().await?;
                drop(guard.take());
                tokio::task::yield_now().await;
                guard = Some(gate.background().await);
                txn = db.begin().await?;
            }
        }
        let savepoint = txn.begin().await?;
        match record(&savepoint, event, planned).await {
            Ok(()) => savepoint.commit().await?,
            Err(e) => {
                savepoint.rollback().await?;
                // Infrastructure trouble: the claim expires and the event is
                // tried again; after MAX_ATTEMPTS it is failed for support.
                tracing::warn!(event = %event.id, attempts = event.attempts, error = %e, "inbound processing error");
                if event.attempts >= MAX_ATTEMPTS {
                    let reason = format!("gave up after {} attempts: {e}", event.attempts);
                    fail(&txn, event, Failure::Processing(reason)).await?;
                }
            }
        }
    }
    txn.commit().await?;
    drop(guard);
    Ok(claimed.len())
}

async fn process_one<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    pipeline: &Pipeline,
    event: inbound_event::Model,
) -> AppResult<()> {
    let planned = plan(db, pipeline, &event, &mut Batch::default()).await;
    record(db, &event, planned).await
}
