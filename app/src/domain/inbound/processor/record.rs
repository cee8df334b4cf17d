//! Ending an event: the outcome of its plan (processed, failed, skipped or
//! forwarded) is written only while the event is still this worker's.
use entity::inbound_event;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{json, Value};
use uuid::Uuid;

use super::apply::{apply, emit};
use super::plan::Planned;
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
    let txn = db.begin().await?;
    let outcome = Outcome {
        status: inbound_event::status::PROCESSED,
        class: None,
        reason: None,
        location: Some((plan.location, plan.provider_store_id.clone())),
        applied: Some(plan.commands.len() as i64),
    };
    if !finish(&txn, event, outcome).await? {
        // The claim ran out and another worker took the event: leave it.
        txn.rollback().await?;
        return Ok(());
    }
    apply(&txn, event, plan).await?;
    txn.commit().await?;
    Ok(())
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
        )
        .col_expr(
            inbound_event::Column::CommandsApplied,
            Expr::value(outcome.applied),
        );
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
    let res = update.filter(mine(event)).exec(db).await?;
    Ok(res.rows_affected == 1)
}

/// The event, still received and still under the claim this worker read.
fn mine(event: &inbound_event::Model) -> sea_orm::Condition {
    let claim = match event.claimed_until {
        Some(t) => inbound_event::Column::ClaimedUntil.eq(t),
        None => inbound_event::Column::ClaimedUntil.is_null(),
    };
    sea_orm::Condition::all()
        .add(inbound_event::Column::Id.eq(event.id))
        .add(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
        .add(claim)
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
