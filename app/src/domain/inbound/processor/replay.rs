//! Support's Replay: a failed event goes back to `received` and is
//! processed at once, and gives its idempotency key back if it fails again.
use entity::{inbound_event, inbound_idempotency};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{process_one, Pipeline, CLAIM_SECS};
use crate::error::AppResult;

async fn claim(db: &DatabaseConnection, id: Uuid) -> AppResult<bool> {
    let now = entity::now();
    let res = inbound_event::Entity::update_many()
        .col_expr(
            inbound_event::Column::ClaimedUntil,
            Expr::value(Some(now + time::Duration::seconds(CLAIM_SECS))),
        )
        .col_expr(
            inbound_event::Column::Attempts,
            Expr::col(inbound_event::Column::Attempts).add(1),
        )
        .filter(inbound_event::Column::Id.eq(id))
        .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
        .filter(
            inbound_event::Column::ClaimedUntil
                .is_null()
                .or(inbound_event::Column::ClaimedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Runs one event through the pipeline again (support's Replay): it goes
/// back to `received` and is processed at once.
pub async fn replay(
    db: &DatabaseConnection,
    pipeline: &Pipeline,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<inbound_event::Model> {
    let event = inbound_event::Entity::find_by_id(id)
        .filter(inbound_event::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await?
        .ok_or_else(|| crate::error::AppError::NotFound("No such inbound event.".into()))?;
    if event.status != inbound_event::status::FAILED {
        return Ok(event);
    }
    let key = take_key(db, &event).await?;
    if let Key::HeldBy(original) = key {
        // A retry of the same delivery was accepted meanwhile: this one
        // must not run twice.
        inbound_event::Entity::update_many()
            .col_expr(
                inbound_event::Column::Status,
                Expr::value(inbound_event::status::DUPLICATE),
            )
            .col_expr(
                inbound_event::Column::FailureClass,
                Expr::value(Some(inbound_event::failure::DUPLICATE)),
            )
            .col_expr(
                inbound_event::Column::FailureReason,
                Expr::value(Some(format!("repeat of event {original}"))),
            )
            .col_expr(
                inbound_event::Column::DuplicateOf,
                Expr::value(Some(original)),
            )
            .filter(inbound_event::Column::Id.eq(id))
            .filter(inbound_event::Column::Status.eq(inbound_event::status::FAILED))
            .exec(db)
            .await?;
        return Ok(inbound_event::Entity::find_by_id(id)
            .one(db)
            .await?
            .unwrap_or(event));
    }
    inbound_event::Entity::update_many()
        .col_expr(
            inbound_event::Column::Status,
            Expr::value(inbound_event::status::RECEIVED),
        )
        .col_expr(
            inbound_event::Column::ClaimedUntil,
            Expr::value(Option::<time::OffsetDateTime>::None),
        )
        .filter(inbound_event::Column::Id.eq(id))
        .filter(inbound_event::Column::Status.eq(inbound_event::status::FAILED))
        .exec(db)
        .await?;
    if claim(db, id).await? {
        let fresh = inbound_event::Entity::find_by_id(id).one(db).await?;
        if let Some(fresh) = fresh {
            process_one(db, pipeline, fresh).await?;
        }
    }
    let after = inbound_event::Entity::find_by_id(id)
        .one(db)
        .await?
        .unwrap_or(event);
    if key == (Key::Mine { newly: true }) && after.status == inbound_event::status::FAILED {
        // Failed again: give the key back, so the vendor's next retry is
        // accepted rather than answered as a duplicate of a failure.
        inbound_idempotency::Entity::delete_many()
            .filter(inbound_idempotency::Column::EventId.eq(id))
            .exec(db)
            .await?;
    }
    Ok(after)
}

/// Who holds an event's idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// Another event, accepted for the same delivery.
    HeldBy(Uuid),
    /// This event; `newly` if this replay just took it.
    Mine { newly: bool },
}

/// Makes sure the event holds its idempotency key (one refused before its
/// acknowledgement holds none); answers who holds it.
async fn take_key(db: &DatabaseConnection, event: &inbound_event::Model) -> AppResult<Key> {
    let inserted = inbound_idempotency::Entity::insert(inbound_idempotency::ActiveModel {
        provider: Set(event.provider.clone()),
        merchant_id: Set(event.merchant_id),
        key: Set(event.idempotency_key.clone()),
        event_id: Set(event.id),
        created_at: Set(entity::now()),
    })
    .on_conflict(inbound_idempotency::Entity::first_keeps_key())
    .exec_without_returning(db)
    .await?;
    let holder = inbound_idempotency::Entity::find()
        .filter(inbound_idempotency::Column::Provider.eq(event.provider.clone()))
        .filter(inbound_idempotency::Column::MerchantId.eq(event.merchant_id))
        .filter(inbound_idempotency::Column::Key.eq(event.idempotency_key.clone()))
        .one(db)
        .await?
        .map(|k| k.event_id);
    Ok(match holder {
        Some(h) if h != event.id => Key::HeldBy(h),
        _ => Key::Mine {
            newly: inserted == 1,
        },
    })
}
