//! The order status service: the one place an order's status changes,
//! whichever route asked (the plain API, a POS transformer, a payment).
//! It applies the state machine, the partner-pushable filter, optimistic
//! concurrency (a stale version is 409) and idempotency (the same status
//! twice is 200 with no change), records the history, and announces the
//! change to the endpoints that take it.
use entity::{order, order_status_history, outbox};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

use super::state_machine::{self, Refused};
use crate::domain::outbound::deliveries;
use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::outbound::StatusUpdated;

/// Outbox topic of order events.
pub const TOPIC: &str = "orders.events";

/// Who asks for a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A partner through the plain API (the pushable subset only).
    Partner,
    /// A POS through its transformer (the pushable subset only).
    Pos(String),
    /// Plugboard's payment flow (may set PAID).
    Payment(String),
    /// The merchant in the UI.
    Merchant,
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Partner => "partner".into(),
            Source::Pos(p) => p.clone(),
            Source::Payment(p) => format!("payment:{p}"),
            Source::Merchant => "merchant".into(),
        }
    }

    fn pushes_as_partner(&self) -> bool {
        matches!(self, Source::Partner | Source::Pos(_))
    }
}

/// One requested change.
pub struct Change<'a> {
    /// Scopes the order to a merchant (`None` only for Plugboard's own
    /// flows that found the order themselves).
    pub merchant_id: Option<Uuid>,
    pub order_id: Uuid,
    pub status: &'a str,
    /// The version the caller last saw, if it sent one.
    pub expected_version: Option<i32>,
    pub source: Source,
}

fn refused(e: Refused) -> AppError {
    match e {
        Refused::NotAllowed { .. } => AppError::InvalidTransition(e.to_string()),
        Refused::Unknown(_) | Refused::NotPushable(_) => AppError::field("status", e.to_string()),
    }
}

/// Applies one change in its own transaction.
pub async fn update<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    change: Change<'_>,
) -> AppResult<StatusUpdated> {
    let to = state_machine::parse(change.status).map_err(refused)?;
    if change.source.pushes_as_partner() {
        state_machine::pushable(to).map_err(refused)?;
    }
    let txn = crate::domain::begin_write(db).await?;
    let mut q = order::Entity::find_by_id(change.order_id);
    if let Some(m) = change.merchant_id {
        q = q.filter(order::Column::MerchantId.eq(m));
    }
    let current = q
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No such order.".into()))?;
    if current.status == to {
        // The same transition again: nothing to do, whatever version the
        // caller saw.
        return Ok(StatusUpdated {
            order_id: current.id,
            previous_status: current.status.clone(),
            current_status: current.status,
            version: current.version,
            changed: false,
        });
    }
    if let Some(v) = change.expected_version {
        if v != current.version {
            return Err(AppError::StaleVersion(format!(
                "The order is at version {}, not {v}; read it again and retry.",
                current.version
            )));
        }
    }
    state_machine::check(&current.status, to).map_err(refused)?;
    let updated = apply(
        &txn,
        &current,
        to,
        &change.source.name(),
        Announce::Endpoints,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Who hears of a change besides the outbox (capabilities always do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announce {
    /// The endpoints that take the event get a delivery.
    Endpoints,
    /// The caller delivers the event itself (a dispatch of `order.paid`
    /// is that event's delivery).
    OutboxOnly,
}

/// Writes an allowed transition (the caller checked it) in `db`'s
/// transaction: the guarded update, the history row, the outbox event and,
/// unless the caller delivers it itself, the webhook deliveries.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    current: &order::Model,
    to: &'static str,
    source: &str,
    announce: Announce,
) -> AppResult<StatusUpdated> {
    let now = entity::now();
    let version = current.version + 1;
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::Version, Expr::value(version))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(current.id))
        .filter(order::Column::Version.eq(current.version))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::StaleVersion(
            "The order changed while this update was applied; read it again and retry.".into(),
        ));
    }
    order_status_history::ActiveModel {
        order_id: Set(current.id),
        from_status: Set(Some(current.status.clone())),
        to_status: Set(to.to_string()),
        version: Set(version),
        source: Set(source.to_string()),
        at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let event_type = state_machine::event_type(to);
    let event = serde_json::json!({
        "event": event_type,
        "orderId": current.id,
        "outletId": current.location_id,
        "reference": current.reference,
        "previousStatus": current.status,
        "status": to,
        "version": version,
        "source": source,
        "at": rfc3339(now),
    });
    outbox::ActiveModel {
        topic: Set(TOPIC.into()),
        kind: Set("event".into()),
        merchant_id: Set(current.merchant_id),
        key: Set(current.id.to_string()),
        payload: Set(event.clone()),
        source_event_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    if announce == Announce::Endpoints {
        let body = serde_json::to_vec(&event).map_err(|_| AppError::Internal)?;
        deliveries::enqueue_for_event(
            db,
            current.merchant_id,
            Some(current.location_id),
            &event_type,
            Some(current.id),
            &body,
        )
        .await?;
    }
    Ok(StatusUpdated {
        order_id: current.id,
        previous_status: current.status.clone(),
        current_status: to.to_string(),
        version,
        changed: true,
    })
}
