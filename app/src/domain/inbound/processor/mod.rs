//! The asynchronous half of the pipeline: every acknowledged delivery
//! (`received`) is claimed, parsed by its adapter, mapped (store → location,
//! SKU → item), validated, and turned into canonical commands and events in
//! the outbox, applied to the read models in the same transaction. A
//! failure marks the event `failed` with its class and reason; nothing is
//! dropped. Claims expire, so a crash mid-way only delays an event.
//!
//! Reading and planning (`plan`) happens outside the write transaction, so
//! the write lock is held only while `record` writes outcomes and `apply`
//! writes the read models, in turns at the write gate (`writer`); `replay`
//! is support's way back in.

mod apply;
mod plan;
mod record;
mod replay;
mod writer;

use std::sync::Arc;

use entity::inbound_event;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use uuid::Uuid;

use self::plan::{plan, plan_all, Batch, Plan, Planned};
use self::record::{fail, record, record_chunk, record_many};
use self::writer::Writer;
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

/// Commands per commit when a plan is larger (see [`apply_in_chunks`]).
pub const CHUNK_COMMANDS: usize = 500;
/// Small plans written together (see [`record_many`]).
const GROUP: usize = 32;
/// How long a processor may hold an event before another may take it.
const CLAIM_SECS: i64 = 60;
/// Key of the PostgreSQL advisory lock inbound claims are made under.
const CLAIM_LOCK: i64 = 0x706c_7567_696e_6231; // "pluginb1"
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

/// Claims up to `limit` waiting events for this process, with a claim
/// that expires after [`CLAIM_SECS`] (a crashed process's events are taken
/// over then). The expiry, unique to this call, tells which rows it won.
///
/// On PostgreSQL one statement picks and claims the rows with
/// `FOR UPDATE SKIP LOCKED`: replicas claiming at the same moment each get
/// other rows instead of queueing on the same ones. SQLite has one writer:
/// a plain read, then a guarded UPDATE at the write gate.
async fn claim(
    db: &DatabaseConnection,
    pipeline: &Pipeline,
    limit: u64,
) -> AppResult<Vec<inbound_event::Model>> {
    let now = entity::now();
    let free = inbound_event::Column::ClaimedUntil
        .is_null()
        .or(inbound_event::Column::ClaimedUntil.lt(now));
    let token = now
        + time::Duration::seconds(CLAIM_SECS)
        + time::Duration::microseconds(i64::from(rand::random::<u32>() % 1_000_000));
    let waiting = inbound_event::Entity::find()
        .select_only()
        .column(inbound_event::Column::Id)
        .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
        .filter(free.clone())
        .order_by_asc(inbound_event::Column::Id)
        .limit(limit);
    let take = |ids: sea_orm::sea_query::SimpleExpr| {
        inbound_event::Entity::update_many()
            .col_expr(
                inbound_event::Column::ClaimedUntil,
                Expr::value(Some(token)),
            )
            .col_expr(
                inbound_event::Column::Attempts,
                Expr::col(inbound_event::Column::Attempts).add(1),
            )
            .filter(ids)
            .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
            .filter(free.clone())
    };
    if db.get_database_backend() == DbBackend::Postgres {
        // Replicas claim in turns (the claim is one short statement), and
        // skip the events of any provider connection that another processor
        // is working on: one connection's events are applied in the order
        // they were received, whichever replicas process them. A dead
        // holder's claim expires; then its events and those behind them
        // are claimed again, in order. (Held events are few: the subquery
        // is read once, by `ix_inbound_events_claims`.)
        let held = Expr::cust_with_values(
            "inbound_events.connection_id NOT IN (SELECT held.connection_id \
             FROM inbound_events AS held \
             WHERE held.status = 'received' AND held.claimed_until >= $1)",
            [now],
        );
        let picked = waiting
            .filter(held)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_query();
        let txn = db.begin().await?;
        txn.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [CLAIM_LOCK.into()],
        ))
        .await?;
        let mut claimed = take(inbound_event::Column::Id.in_subquery(picked))
            .exec_with_returning(&txn)
            .await?;
        txn.commit().await?;
        claimed.sort_by_key(|e| e.id);
        return Ok(claimed);
    }
    let ids: Vec<Uuid> = waiting.into_tuple().all(db).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let claim_guard = match &pipeline.gate {
        Some(g) => Some(g.background().await),
        None => None,
    };
    take(inbound_event::Column::Id.is_in(ids.clone()))
        .exec(db)
        .await?;
    drop(claim_guard);
    Ok(inbound_event::Entity::find()
        .filter(inbound_event::Column::Id.is_in(ids))
        .filter(inbound_event::Column::ClaimedUntil.eq(token))
        .order_by_asc(inbound_event::Column::Id)
        .all(db)
        .await?)
}

/// Processes up to `limit` received events; answers how many were handled.
///
/// The batch is claimed with one UPDATE (the claim's expiry time, unique to
/// this call, tells which rows this caller won), planned as a whole
/// ([`plan_all`]), and written in one transaction: small plans a group at
/// a time ([`record_many`], with a few statements per group), anything else
/// under its own savepoint, so one event's error cannot undo another's
/// work. A waiting acknowledgement makes it commit after the group it is
/// writing and go on in a new transaction; a large plan is applied in
/// chunks ([`apply_in_chunks`]).
pub async fn process_batch(
    db: &DatabaseConnection,
    pipeline: &Pipeline,
    limit: u64,
) -> AppResult<usize> {
    let started = std::time::Instant::now();
    let claimed = claim(db, pipeline, limit).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let claimed_at = started.elapsed();
    // Read and plan outside the write transaction; then write, in turns at
    // the write gate.
    let planned = plan_all(db, pipeline, &claimed, &mut Batch::default()).await?;
    let planned_at = started.elapsed();
    let mut writer = Writer::open(db, pipeline.gate.as_deref()).await?;
    // Small plans (the common case) are written a group at a time; the
    // rest one by one, in order.
    let mut group: Vec<(&inbound_event::Model, Plan)> = Vec::new();
    for (event, planned) in claimed.iter().zip(planned) {
        match planned {
            Ok(Planned::Apply(plan)) if plan.commands.len() <= CHUNK_COMMANDS => {
                group.push((event, plan));
                if group.len() >= GROUP {
                    write_group(&mut writer, std::mem::take(&mut group)).await?;
                }
            }
            planned => {
                write_group(&mut writer, std::mem::take(&mut group)).await?;
                writer.let_urgent_in().await?;
                write_one(&mut writer, event, planned).await?;
            }
        }
    }
    write_group(&mut writer, group).await?;
    writer.commit().await?;
    tracing::debug!(
        batch = claimed.len(),
        claim_us = claimed_at.as_micros() as u64,
        plan_us = (planned_at - claimed_at).as_micros() as u64,
        write_us = (started.elapsed() - planned_at).as_micros() as u64,
        "inbound batch processed"
    );
    Ok(claimed.len())
}

/// Writes a group of small plans together ([`record_many`]); if that
/// fails, writes them one by one, so one event's trouble stays its own.
async fn write_group(
    writer: &mut Writer<'_>,
    group: Vec<(&inbound_event::Model, Plan)>,
) -> AppResult<()> {
    if group.is_empty() {
        return Ok(());
    }
    writer.let_urgent_in().await?;
    match record_many(writer.txn(), group.clone()).await {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => {
            tracing::debug!(error = %e, "writing a group failed; writing its events one by one")
        }
    }
    for (event, plan) in group {
        write_one(writer, event, Ok(Planned::Apply(plan))).await?;
    }
    Ok(())
}

/// Writes one event's outcome: a large plan in chunks, anything else under
/// its own savepoint.
async fn write_one(
    writer: &mut Writer<'_>,
    event: &inbound_event::Model,
    planned: Result<Planned, Failure>,
) -> AppResult<()> {
    let written = match planned {
        Ok(Planned::Apply(plan)) if plan.commands.len() > CHUNK_COMMANDS => {
            return apply_in_chunks(writer, event, plan).await;
        }
        planned => {
            let savepoint = writer.txn().begin().await?;
            let written = record(&savepoint, event, planned).await;
            match written {
                Ok(()) => savepoint.commit().await?,
                Err(_) => savepoint.rollback().await?,
            }
            written
        }
    };
    if let Err(e) = written {
        gave_up(writer.txn(), event, e).await?;
    }
    Ok(())
}

/// Infrastructure trouble while writing an event: its claim expires and it
/// is tried again; after [`MAX_ATTEMPTS`] it is failed for support.
async fn gave_up<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &inbound_event::Model,
    e: crate::error::AppError,
) -> AppResult<()> {
    tracing::warn!(event = %event.id, attempts = event.attempts, error = %e, "inbound processing error");
    if event.attempts >= MAX_ATTEMPTS {
        let reason = format!("gave up after {} attempts: {e}", event.attempts);
        fail(db, event, Failure::Processing(reason)).await?;
    }
    Ok(())
}

/// Applies a large plan (an import of thousands of rows) in chunks of
/// [`CHUNK_COMMANDS`], each its own commit: the event shows its progress,
/// acknowledgements are let in between chunks, and an attempt that stops
/// half-way (a crash, a lost claim) resumes after the last chunk committed.
async fn apply_in_chunks(
    writer: &mut Writer<'_>,
    event: &inbound_event::Model,
    plan: Plan,
) -> AppResult<()> {
    let total = plan.commands.len();
    let resumed = resume_point(event, total);
    let mut done = resumed;
    let mut rest = plan.commands.into_iter().skip(resumed).peekable();
    while rest.peek().is_some() {
        let commands: Vec<_> = rest.by_ref().take(CHUNK_COMMANDS).collect();
        done += commands.len();
        let chunk = Plan {
            location: plan.location,
            provider_store_id: plan.provider_store_id.clone(),
            commands,
        };
        match record_chunk(writer.txn(), event, chunk, done, total).await {
            Ok(true) => {}
            // Another processor took the event over; it resumes from here.
            Ok(false) => return Ok(()),
            Err(e) => return gave_up(writer.txn(), event, e).await,
        }
        writer.checkpoint().await?;
    }
    Ok(())
}

/// How many of a plan's `total` commands an earlier attempt already
/// committed. That progress counts only if it planned as many commands
/// (the body is the same; mappings made since do not change their number).
fn resume_point(event: &inbound_event::Model, total: usize) -> usize {
    match (event.commands_total, event.commands_applied) {
        (Some(t), Some(done))
            if t == total as i64 && event.status == inbound_event::status::RECEIVED =>
        {
            (done.max(0) as usize).min(total)
        }
        _ => 0,
    }
}

/// Processes one event in one commit (a replay); a large import that an
/// earlier attempt applied in part goes on after its last chunk.
async fn process_one<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    pipeline: &Pipeline,
    event: inbound_event::Model,
) -> AppResult<()> {
    match plan(db, pipeline, &event, &mut Batch::default()).await {
        Ok(Planned::Apply(mut plan)) => {
            let total = plan.commands.len();
            plan.commands.drain(..resume_point(&event, total));
            record_chunk(db, &event, plan, total, total).await?;
            Ok(())
        }
        planned => record(db, &event, planned).await,
    }
}
