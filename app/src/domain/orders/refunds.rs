//! Refunds of paid orders. A refund is recorded and announced as
//! `refund.created`: on the outbox (the capability dispatcher and the live
//! board read it there) and to the outlet's webhook endpoints that take the
//! event, queued behind the order's earlier deliveries.
use entity::{order, outbox, refund};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{state_machine, status};
use crate::domain::inbound::canonical;
use crate::domain::outbound::deliveries;
use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::outbound::{Refund, RefundRequest};

/// The event type of a refund.
pub const EVENT: &str = "refund.created";

fn view(r: &refund::Model) -> Refund {
    Refund {
        id: r.id,
        order_id: r.order_id,
        amount: canonical::format_minor(r.amount_minor, &r.currency),
        amount_minor: r.amount_minor,
        currency: r.currency.clone(),
        reason: r.reason.clone(),
        created_at: rfc3339(r.created_at),
    }
}

/// Records a refund of `order_id` and announces it.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    merchant_id: Uuid,
    order_id: Uuid,
    req: &RefundRequest,
) -> AppResult<Refund> {
    let amount = match &req.amount {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(AppError::field(
                "amount",
                "amount must be a number or a decimal string.",
            ))
        }
    };
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .to_string();
    if reason.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "reason is at most 500 characters.",
        ));
    }
    let txn = crate::domain::begin_write(db).await?;
    // Locked (PostgreSQL; SQLite's writer is already alone), so two
    // refunds cannot both spend what is left.
    let o = order::Entity::find_by_id(order_id)
        .filter(order::Column::MerchantId.eq(merchant_id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No such order.".into()))?;
    let amount_minor =
        canonical::price_minor(&amount, &o.currency).map_err(|e| AppError::field("amount", e))?;
    if amount_minor <= 0 {
        return Err(AppError::field("amount", "amount must be above 0."));
    }
    if !was_paid(&txn, &o).await? {
        return Err(AppError::InvalidTransition(
            "The order was never paid; there is nothing to refund.".into(),
        ));
    }
    let refunded: i64 = refund::Entity::find()
        .filter(refund::Column::OrderId.eq(o.id))
        .all(&txn)
        .await?
        .iter()
        .map(|r| r.amount_minor)
        .sum();
    let left = o.total_minor - refunded;
    if amount_minor > left {
        return Err(AppError::field(
            "amount",
            format!(
                "amount is more than is left to refund ({} {}).",
                canonical::format_minor(left.max(0), &o.currency),
                o.currency
            ),
        ));
    }
    let now = entity::now();
    let row = refund::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant_id),
        order_id: Set(o.id),
        location_id: Set(o.location_id),
        amount_minor: Set(amount_minor),
        currency: Set(o.currency.clone()),
        reason: Set(reason),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let event = json!({
        "event": EVENT,
        "refundId": row.id,
        "orderId": o.id,
        "outletId": o.location_id,
        "reference": o.reference,
        "status": o.status,
        "amount": canonical::format_minor(amount_minor, &o.currency),
        "currency": o.currency,
        "reason": row.reason,
        "refundedTotal": canonical::format_minor(refunded + amount_minor, &o.currency),
        "at": rfc3339(now),
    });
    outbox::ActiveModel {
        topic: Set(status::TOPIC.into()),
        kind: Set("event".into()),
        merchant_id: Set(merchant_id),
        key: Set(o.id.to_string()),
        payload: Set(event.clone()),
        source_event_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let body = serde_json::to_vec(&event).map_err(|_| AppError::Internal)?;
    deliveries::enqueue_for_event(
        &txn,
        merchant_id,
        Some(o.location_id),
        EVENT,
        Some(o.id),
        &body,
    )
    .await?;
    txn.commit().await?;
    Ok(view(&row))
}

/// Whether the order reached PAID (it may have moved on, or been
/// cancelled after payment).
async fn was_paid<C: ConnectionTrait>(db: &C, o: &order::Model) -> AppResult<bool> {
    if o.status == state_machine::PENDING {
        return Ok(false);
    }
    if o.status != state_machine::CANCELLED {
        return Ok(true);
    }
    Ok(entity::order_status_history::Entity::find()
        .filter(entity::order_status_history::Column::OrderId.eq(o.id))
        .filter(entity::order_status_history::Column::ToStatus.eq(state_machine::PAID))
        .one(db)
        .await?
        .is_some())
}

/// The refunds of an order, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C, order_id: Uuid) -> AppResult<Vec<Refund>> {
    Ok(refund::Entity::find()
        .filter(refund::Column::OrderId.eq(order_id))
        .order_by_asc(refund::Column::CreatedAt)
        .all(db)
        .await?
        .iter()
        .map(view)
        .collect())
}
