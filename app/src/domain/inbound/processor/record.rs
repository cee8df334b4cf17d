//! Ending an event: the outcome of its plan (processed, failed, skipped or
//! forwarded) is written only while the event is still this worker's.
use entity::inbound_event;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{json, Value};
use uuid::Uuid;

use super::apply::{apply, apply_into, emit, Bulk};
use super::plan::{Plan, Planned};
use super::Failure;
use crate::error::AppResult;

/// Writes the outcome of a plan: the commands and read models, or the
/// failure. Starts with a write, so on SQLite the transaction takes the
/// write lock at once (a read first could not upgrade after another commit).
pub(super) async fn record<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &inbound_event::Model,
    planned: Result<Planned, Failure>,
) -> AppResult<()> {
    let plan = match planned {
        Ok(Planned::Apply(plan)) => plan,
        Ok(Planned::Skip(reason)) => return skip(db, event, &reason).await,
        Ok(Planned::Forward {
            install_id,
            payload,
        }) => return forward(db, event, install_id, payload).await,
        Ok(Planned::Payment(settlement)) => return settle(db, event, &settlement).await,
        Err(failure) => return fail(db, event, failure).await,
    };
    // The whole plan as one chunk: it ends the event.
    let total = plan.commands.len();
    record_chunk(db, event, plan, total, total).await?;
    Ok(())
}

/// Writes one chunk of a plan (a large import is applied in chunks, see
/// [`super::CHUNK_COMMANDS`]): `done` of `total` commands are applied once
/// it commits. The last chunk ends the event as processed; the others
/// record the progress, so support and the merchant see it and a retry
/// after a crash resumes there. Starts with that write. Answers false,
/// writing nothing, when the event is no longer this worker's.
pub(super) async fn record_chunk<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &inbound_event::Model,
    chunk: Plan,
    done: usize,
    total: usize,
) -> AppResult<bool> {
    let txn = db.begin().await?;
    let still_mine = if done >= total {
        let outcome = Outcome {
            status: inbound_event::status::PROCESSED,
            class: None,
            reason: None,
            location: Some((chunk.location, chunk.provider_store_id.clone())),
            applied: Some(total as i64),
        };
        finish(&txn, event, outcome).await?
    } else {
        inbound_event::Entity::update_many()
            .col_expr(
                inbound_event::Column::CommandsApplied,
                Expr::value(Some(done as i64)),
            )
            .col_expr(
                inbound_event::Column::CommandsTotal,
                Expr::value(Some(total as i64)),
            )
            .filter(mine(event))
            .exec(&txn)
            .await?
            .rows_affected
            == 1
    };
    if !still_mine {
        // The claim ran out and another worker took the event: leave it.
        txn.rollback().await?;
        return Ok(false);
    }
    apply(&txn, event, chunk).await?;
    txn.commit().await?;
    Ok(true)
}

/// Writes the plans of several events of one claim (small plans, the
/// common case) in one savepoint with a few statements: events that end
/// alike are finished by one UPDATE, and their item upserts, mappings and
/// outbox rows go in bulk. Answers false, writing nothing, if any of them
/// is no longer this worker's (the caller then writes them one by one).
pub(super) async fn record_many<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    plans: Vec<(&inbound_event::Model, Plan)>,
) -> AppResult<bool> {
    let started = std::time::Instant::now();
    let txn = db.begin().await?;
    let mut alike: std::collections::HashMap<_, Vec<Uuid>> = std::collections::HashMap::new();
    for (event, plan) in &plans {
        let key = (
            event.claimed_until,
            plan.location,
            plan.provider_store_id.clone(),
            plan.commands.len() as i64,
        );
        alike.entry(key).or_default().push(event.id);
    }
    for ((claim, location, store, applied), ids) in alike {
        let expected = ids.len() as u64;
        let outcome = Outcome {
            status: inbound_event::status::PROCESSED,
            class: None,
            reason: None,
            location: Some((location, store)),
            applied: Some(applied),
        };
        let res = ending(outcome)
            .filter(inbound_event::Column::Id.is_in(ids))
            .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
            .filter(claimed_by(claim))
            .exec(&txn)
            .await?;
        if res.rows_affected != expected {
            txn.rollback().await?;
            return Ok(false);
        }
    }
    let ended = started.elapsed();
    let mut bulk = Bulk::default();
    for (event, plan) in plans {
        apply_into(&txn, &mut bulk, event, plan).await?;
    }
    let applied = started.elapsed();
    bulk.flush(&txn).await?;
    let flushed = started.elapsed();
    txn.commit().await?;
    tracing::trace!(
        end_us = ended.as_micros() as u64,
        apply_us = (applied - ended).as_micros() as u64,
        flush_us = (flushed - applied).as_micros() as u64,
        release_us = (started.elapsed() - flushed).as_micros() as u64,
        "group written"
    );
    Ok(true)
}

/// How an event ends: its status, failure class, reason (of a failure or
/// a skip) and location.
struct Outcome<'a> {
    status: &'static str,
    class: Option<&'static str>,
    reason: Option<&'a str>,
    location: Option<(Uuid, String)>,
    /// Commands applied, when processed.
    applied: Option<i64>,
}

/// Writes the outcome, only while the event is still this worker's
/// ([`mine`]); answers whether it was. The first write of its transaction,
/// so SQLite takes the write lock at once.
async fn finish<C: ConnectionTrait>(
    db: &C,
    event: &inbound_event::Model,
    outcome: Outcome<'_>,
) -> AppResult<bool> {
    let res = ending(outcome).filter(mine(event)).exec(db).await?;
    Ok(res.rows_affected == 1)
}

/// The UPDATE that writes an outcome, for the caller to filter.
fn ending(outcome: Outcome<'_>) -> sea_orm::UpdateMany<inbound_event::Entity> {
    let mut update = inbound_event::Entity::update_many()
        .col_expr(inbound_event::Column::Status, Expr::value(outcome.status))
        .col_expr(
            inbound_event::Column::FailureClass,
            Expr::value(outcome.class.map(str::to_string)),
        )
        .col_expr(
            inbound_event::Column::FailureReason,
            Expr::value(outcome.reason.map(str::to_string)),
        )
        .col_expr(
            inbound_event::Column::ProcessedAt,
            Expr::value(Some(entity::now())),
        )
        .col_expr(
            inbound_event::Column::ClaimedUntil,
            Expr::value(Option::<time::OffsetDateTime>::None),
        );
    if let Some(applied) = outcome.applied {
        // A failure or a skip keeps the progress of chunks already
        // committed: a replay resumes after them.
        update = update
            .col_expr(
                inbound_event::Column::CommandsApplied,
                Expr::value(Some(applied)),
            )
            .col_expr(
                inbound_event::Column::CommandsTotal,
                Expr::value(Some(applied)),
            );
    }
    if let Some((location, store)) = outcome.location {
        update = update
            .col_expr(
                inbound_event::Column::LocationId,
                Expr::value(Some(location)),
            )
            .col_expr(
                inbound_event::Column::ProviderStoreId,
                Expr::value(Some(store)),
            );
    }
    update
}

/// Rows under the claim `claim` (or under none).
fn claimed_by(claim: Option<time::OffsetDateTime>) -> sea_orm::sea_query::SimpleExpr {
    match claim {
        Some(t) => inbound_event::Column::ClaimedUntil.eq(t),
        None => inbound_event::Column::ClaimedUntil.is_null(),
    }
}

/// The event, still received and still under the claim this worker read.
fn mine(event: &inbound_event::Model) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(inbound_event::Column::Id.eq(event.id))
        .add(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
        .add(claimed_by(event.claimed_until))
}

pub(super) async fn fail<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &inbound_event::Model,
    failure: Failure,
) -> AppResult<()> {
    let txn = db.begin().await?;
    let outcome = Outcome {
        status: inbound_event::status::FAILED,
        class: Some(failure.class()),
        reason: Some(failure.reason()),
        location: None,
        applied: None,
    };
    if !finish(&txn, event, outcome).await? {
        txn.rollback().await?;
        return Ok(());
    }
    emit(
        &txn,
        event,
        "integration.failures",
        "event",
        event.id.to_string(),
        json!({"type": "InboundFailed", "event_id": event.id, "provider": event.provider,
               "class": failure.class(), "reason": failure.reason()}),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(event = %event.id, class = failure.class(), reason = failure.reason(), "inbound event failed");
    Ok(())
}

/// Ends an event the script skipped: acknowledged, nothing applied.
async fn skip<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &inbound_event::Model,
    reason: &str,
) -> AppResult<()> {
    let outcome = Outcome {
        status: inbound_event::status::SKIPPED,
        class: None,
        reason: Some(reason),
        location: None,
        applied: None,
    };
    finish(db, event, outcome).await?;
    Ok(())
}

/// Ends a partner event: forwarded on `partner.events`, in one commit.
async fn forward<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &inbound_event::Model,
    install_id: Uuid,
    payload: Value,
) -> AppResult<()> {
    let txn = db.begin().await?;
    let outcome = Outcome {
        status: inbound_event::status::PROCESSED,
        class: None,
        reason: None,
        location: None,
        applied: Some(1),
    };
    if !finish(&txn, event, outcome).await? {
        txn.rollback().await?;
        return Ok(());
    }
    emit(
        &txn,
        event,
        "partner.events",
        "event",
        install_id.to_string(),
        payload,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends a payment notification: the payment (and its order) settled, in
/// one commit.
async fn settle<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &inbound_event::Model,
    settlement: &crate::domain::payments::notify::Settlement,
) -> AppResult<()> {
    let txn = db.begin().await?;
    let outcome = Outcome {
        status: inbound_event::status::PROCESSED,
        class: None,
        reason: None,
        location: None,
        applied: Some(1),
    };
    if !finish(&txn, event, outcome).await? {
        txn.rollback().await?;
        return Ok(());
    }
    crate::domain::payments::notify::apply(&txn, settlement).await?;
    txn.commit().await?;
    Ok(())
}
