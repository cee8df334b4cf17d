//! The durable outbound queue: deliveries are written (in the caller's
//! transaction) before anything is sent; workers claim what is due, and
//! every attempt is recorded. Failed attempts are retried 1m / 5m / 15m /
//! 60m after the first (scaled by the delivery clock in tests), then the
//! delivery fails; a merchant or support agent can resend it.
use std::time::Duration;

use entity::{delivery, delivery_attempt, order, webhook_endpoint};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use uuid::Uuid;

use super::outcome::Outcome;
use crate::domain::audit::{self, Actor};
use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::outbound::{Delivery, DeliveryAttempt, DeliveryDetail};

/// Waits after the 1st, 2nd, 3rd and 4th failed attempt (seeds 001, 004);
/// a 5th failure ends the delivery.
pub const RETRY_SCHEDULE: [Duration; 4] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(60 * 60),
];

/// How long a worker may hold a claimed delivery before another may.
const CLAIM: time::Duration = time::Duration::seconds(120);

/// The timing rules of the engine; tests compress the clock.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Multiplies every retry wait (1.0 in production).
    pub clock_scale: f64,
    /// An endpoint whose deliveries all failed for this long is disabled.
    pub disable_after: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            clock_scale: 1.0,
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

impl Timing {
    /// The wait after failed attempt number `attempt` (1-based), or `None`
    /// when the schedule is spent.
    pub fn retry_after(&self, attempt: i32) -> Option<time::Duration> {
        let i = usize::try_from(attempt).ok()?.checked_sub(1)?;
        let wait = RETRY_SCHEDULE.get(i)?.mul_f64(self.clock_scale.max(0.0));
        time::Duration::try_from(wait).ok()
    }
}

/// A new delivery, written in the caller's transaction.
pub struct NewDelivery {
    pub merchant_id: Uuid,
    pub location_id: Option<Uuid>,
    /// [`delivery::target`].
    pub target: &'static str,
    pub endpoint_id: Option<Uuid>,
    pub provider: Option<String>,
    pub event_type: String,
    pub order_id: Option<Uuid>,
    pub body: Vec<u8>,
    /// The caller attempts it at once itself (order dispatch): the workers
    /// leave it alone for [`INLINE_GRACE`] unless that caller crashed.
    pub inline: bool,
}

/// How long workers leave a delivery to the caller that attempts it inline.
pub const INLINE_GRACE: time::Duration = time::Duration::seconds(30);

/// Queues a delivery, due now (or after [`INLINE_GRACE`] when inline).
/// An inline delivery that waits behind no earlier one of its order is
/// claimed for its caller in the same write, so the caller sends it at
/// once without another commit.
pub async fn enqueue<C: ConnectionTrait>(db: &C, new: NewDelivery) -> AppResult<delivery::Model> {
    let now = entity::now();
    let claimed = new.inline
        && !pending_ahead(
            db,
            new.order_id,
            new.endpoint_id,
            new.provider.as_deref(),
            None,
        )
        .await?;
    Ok(delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(new.merchant_id),
        location_id: Set(new.location_id),
        target: Set(new.target.to_string()),
        endpoint_id: Set(new.endpoint_id),
        provider: Set(new.provider),
        event_type: Set(new.event_type),
        order_id: Set(new.order_id),
        body: Set(new.body),
        status: Set(delivery::status::PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(if new.inline { now + INLINE_GRACE } else { now })),
        claimed_until: Set(claimed.then_some(now + CLAIM)),
        last_status_code: Set(None),
        last_error: Set(None),
        external_order_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Whether a delivery of `order_id` to the same receiver (endpoint, or POS
/// provider) is still pending, among those before `before` when given: a
/// later delivery must wait behind it.
async fn pending_ahead<C: ConnectionTrait>(
    db: &C,
    order_id: Option<Uuid>,
    endpoint_id: Option<Uuid>,
    provider: Option<&str>,
    before: Option<Uuid>,
) -> AppResult<bool> {
    let Some(order_id) = order_id else {
        return Ok(false);
    };
    let mut q = delivery::Entity::find()
        .filter(delivery::Column::OrderId.eq(order_id))
        .filter(delivery::Column::Status.eq(delivery::status::PENDING));
    if let Some(id) = before {
        q = q.filter(delivery::Column::Id.lt(id));
    }
    q = match (endpoint_id, provider) {
        (Some(e), _) => q.filter(delivery::Column::EndpointId.eq(e)),
        (None, Some(p)) => q.filter(delivery::Column::Provider.eq(p)),
        (None, None) => return Ok(false),
    };
    Ok(q.one(db).await?.is_some())
}

/// Queues one signed webhook per endpoint of the merchant that takes
/// `event_type` at `location_id`; answers their ids.
pub async fn enqueue_for_event<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Option<Uuid>,
    event_type: &str,
    order_id: Option<Uuid>,
    body: &[u8],
) -> AppResult<Vec<Uuid>> {
    let mut ids = Vec::new();
    for endpoint in super::endpoints::subscribed(db, merchant_id, location_id, event_type).await? {
        let d = enqueue(
            db,
            NewDelivery {
                merchant_id,
                location_id,
                target: delivery::target::WEBHOOK,
                endpoint_id: Some(endpoint.id),
                provider: None,
                event_type: event_type.to_string(),
                order_id,
                body: body.to_vec(),
                inline: false,
            },
        )
        .await?;
        ids.push(d.id);
    }
    Ok(ids)
}

/// Claims up to `limit` due deliveries, with a claim that expires after
/// [`CLAIM`] (a crashed worker's deliveries are taken over then). A
/// delivery waits while an earlier one of the same order to the same
/// receiver is still pending, so one order's deliveries arrive in order,
/// whichever replica sends them.
///
/// On PostgreSQL one statement picks and claims the rows with
/// `FOR UPDATE SKIP LOCKED`, so replicas' workers each get other rows. On
/// SQLite (one process) a read, then one guarded UPDATE whose claim
/// expiry, unique to this call, tells which rows this caller won.
pub async fn claim_due<C: ConnectionTrait>(db: &C, limit: u64) -> AppResult<Vec<delivery::Model>> {
    let now = entity::now();
    let free = delivery::Column::ClaimedUntil
        .is_null()
        .or(delivery::Column::ClaimedUntil.lt(now));
    let due = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::Status.eq(delivery::status::PENDING))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(free.clone())
        .filter(Expr::cust(
            "NOT EXISTS (SELECT 1 FROM deliveries AS earlier \
             WHERE earlier.order_id = deliveries.order_id \
             AND earlier.status = 'pending' \
             AND earlier.id < deliveries.id \
             AND (earlier.endpoint_id = deliveries.endpoint_id \
                  OR (earlier.endpoint_id IS NULL AND deliveries.endpoint_id IS NULL \
                      AND earlier.provider = deliveries.provider)))",
        ))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .limit(limit);
    let token =
        now + CLAIM + time::Duration::nanoseconds(i64::from(rand::random::<u32>() % 1_000_000));
    let take = |ids: sea_orm::sea_query::SimpleExpr| {
        delivery::Entity::update_many()
            .col_expr(delivery::Column::ClaimedUntil, Expr::value(Some(token)))
            .filter(ids)
            .filter(delivery::Column::Status.eq(delivery::status::PENDING))
            .filter(free.clone())
    };
    if db.get_database_backend() == DbBackend::Postgres {
        let picked = due
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_query();
        let mut claimed = take(delivery::Column::Id.in_subquery(picked))
            .exec_with_returning(db)
            .await?;
        claimed.sort_by_key(|d| d.id);
        return Ok(claimed);
    }
    let candidates: Vec<Uuid> = due.into_tuple().all(db).await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    take(delivery::Column::Id.is_in(candidates.clone()))
        .exec(db)
        .await?;
    Ok(delivery::Entity::find()
        .filter(delivery::Column::Id.is_in(candidates))
        .filter(delivery::Column::ClaimedUntil.eq(token))
        .order_by_asc(delivery::Column::Id)
        .all(db)
        .await?)
}

/// Rows per multi-row statement (well under SQLite's and PostgreSQL's
/// parameter limits).
const CHUNK: usize = 400;

/// Records the attempts of a batch in one transaction (one commit for the
/// whole batch). Plain successes — the common case — are written with a
/// few multi-row statements for the whole batch: their attempts in one
/// INSERT, the deliveries, the endpoints' health and the orders' dispatch
/// state each in one UPDATE per distinct value. Everything else (failures,
/// retries, answers carrying an external order id) goes through
/// [`record_attempt`] one by one, before the successes, so a success in
/// the same batch has the last word on an endpoint's health.
pub async fn record_attempts<C: sea_orm::TransactionTrait>(
    db: &C,
    timing: &Timing,
    attempts: &[(delivery::Model, Outcome, Duration)],
) -> AppResult<()> {
    let txn = crate::domain::begin_write(db).await?;
    let (plain, others): (Vec<_>, Vec<_>) = attempts
        .iter()
        .partition(|(_, o, _)| o.success && o.external_order_id.is_none());
    for (d, outcome, latency) in others {
        record_attempt(&txn, timing, d, outcome, *latency).await?;
    }
    record_successes(&txn, &plain).await?;
    txn.commit().await?;
    Ok(())
}

async fn record_successes<C: ConnectionTrait>(
    db: &C,
    done: &[&(delivery::Model, Outcome, Duration)],
) -> AppResult<()> {
    if done.is_empty() {
        return Ok(());
    }
    let now = entity::now();
    for chunk in done.chunks(CHUNK) {
        delivery_attempt::Entity::insert_many(chunk.iter().map(|(d, o, latency)| {
            delivery_attempt::ActiveModel {
                delivery_id: Set(d.id),
                attempt: Set(d.attempts + 1),
                attempted_at: Set(now),
                status_code: Set(o.status_code.map(i32::from)),
                latency_ms: Set(i32::try_from(latency.as_millis()).unwrap_or(i32::MAX)),
                outcome: Set(o.kind.to_string()),
                response_excerpt: Set(o.excerpt.clone()),
                error: Set(None),
                ..Default::default()
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    // The deliveries, one UPDATE per status code answered.
    let mut by_code: std::collections::BTreeMap<Option<i32>, Vec<Uuid>> = Default::default();
    for (d, o, _) in done {
        by_code
            .entry(o.status_code.map(i32::from))
            .or_default()
            .push(d.id);
    }
    for (code, ids) in by_code {
        for chunk in ids.chunks(CHUNK) {
            delivery::Entity::update_many()
                .col_expr(
                    delivery::Column::Attempts,
                    Expr::col(delivery::Column::Attempts).add(1),
                )
                .col_expr(
                    delivery::Column::Status,
                    Expr::value(delivery::status::SUCCEEDED),
                )
                .col_expr(
                    delivery::Column::NextAttemptAt,
                    Expr::value(Option::<time::OffsetDateTime>::None),
                )
                .col_expr(
                    delivery::Column::ClaimedUntil,
                    Expr::value(Option::<time::OffsetDateTime>::None),
                )
                .col_expr(delivery::Column::LastStatusCode, Expr::value(code))
                .col_expr(
                    delivery::Column::LastError,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
                .col_expr(delivery::Column::FinishedAt, Expr::value(Some(now)))
                .filter(delivery::Column::Id.is_in(chunk.to_vec()))
                .exec(db)
                .await?;
        }
    }
    // Endpoints that answered are healthy again.
    let mut endpoints: Vec<Uuid> = done.iter().filter_map(|(d, _, _)| d.endpoint_id).collect();
    endpoints.sort();
    endpoints.dedup();
    for chunk in endpoints.chunks(CHUNK) {
        webhook_endpoint::Entity::update_many()
            .col_expr(
                webhook_endpoint::Column::FailingSince,
                Expr::value(Option::<time::OffsetDateTime>::None),
            )
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_endpoint::Column::Id.is_in(chunk.to_vec()))
            .filter(webhook_endpoint::Column::FailingSince.is_not_null())
            .exec(db)
            .await?;
    }
    // Their orders reached a receiver.
    let mut orders: Vec<Uuid> = done.iter().filter_map(|(d, _, _)| d.order_id).collect();
    orders.sort();
    orders.dedup();
    for chunk in orders.chunks(CHUNK) {
        order::Entity::update_many()
            .col_expr(
                order::Column::DispatchStatus,
                Expr::value(order::dispatch_status::DISPATCHED),
            )
            .col_expr(
                order::Column::DispatchReason,
                Expr::value(Option::<String>::None),
            )
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .filter(order::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Claims one delivery for an attempt now; false if another worker has it
/// or it is no longer pending.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    now: time::OffsetDateTime,
) -> AppResult<bool> {
    let res = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::ClaimedUntil,
            Expr::value(Some(now + CLAIM)),
        )
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::Status.eq(delivery::status::PENDING))
        .filter(
            delivery::Column::ClaimedUntil
                .is_null()
                .or(delivery::Column::ClaimedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Whether an earlier delivery of the same order to the same receiver is
/// still pending (this one must wait for it).
pub async fn waits_behind<C: ConnectionTrait>(db: &C, d: &delivery::Model) -> AppResult<bool> {
    pending_ahead(
        db,
        d.order_id,
        d.endpoint_id,
        d.provider.as_deref(),
        Some(d.id),
    )
    .await
}

/// Records one attempt and decides what comes next: success, a retry on
/// the schedule, or failure. Keeps the endpoint's health (and disables it
/// after failing for `timing.disable_after`) and the order's dispatch state.
pub async fn record_attempt<C: ConnectionTrait>(
    db: &C,
    timing: &Timing,
    d: &delivery::Model,
    outcome: &Outcome,
    latency: Duration,
) -> AppResult<delivery::Model> {
    let now = entity::now();
    let attempt = d.attempts + 1;
    delivery_attempt::ActiveModel {
        delivery_id: Set(d.id),
        attempt: Set(attempt),
        attempted_at: Set(now),
        status_code: Set(outcome.status_code.map(i32::from)),
        latency_ms: Set(i32::try_from(latency.as_millis()).unwrap_or(i32::MAX)),
        outcome: Set(outcome.kind.to_string()),
        response_excerpt: Set(outcome.excerpt.clone()),
        error: Set((!outcome.success).then(|| outcome.reason.clone())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let retry = outcome
        .retryable()
        .then(|| timing.retry_after(attempt))
        .flatten();
    let status = if outcome.success {
        delivery::status::SUCCEEDED
    } else if retry.is_some() {
        delivery::status::PENDING
    } else {
        delivery::status::FAILED
    };
    let mut row: delivery::ActiveModel = d.clone().into();
    row.attempts = Set(attempt);
    row.status = Set(status.into());
    row.next_attempt_at = Set(retry.map(|wait| now + wait));
    row.claimed_until = Set(None);
    row.last_status_code = Set(outcome.status_code.map(i32::from));
    row.last_error = Set((!outcome.success).then(|| outcome.reason.clone()));
    if outcome.external_order_id.is_some() {
        row.external_order_id = Set(outcome.external_order_id.clone());
    }
    row.updated_at = Set(now);
    row.finished_at = Set((status != delivery::status::PENDING).then_some(now));
    let updated = row.update(db).await?;
    if let (Some(endpoint_id), true) = (
        d.endpoint_id,
        outcome.kind != entity::delivery_attempt::outcome::UNSENDABLE,
    ) {
        endpoint_health(db, timing, endpoint_id, outcome, now).await?;
    }
    if d.order_id.is_some() {
        order_dispatch_state(db, d, &updated, outcome, now).await?;
    }
    Ok(updated)
}

async fn endpoint_health<C: ConnectionTrait>(
    db: &C,
    timing: &Timing,
    endpoint_id: Uuid,
    outcome: &Outcome,
    now: time::OffsetDateTime,
) -> AppResult<()> {
    let Some(endpoint) = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    if outcome.success {
        if endpoint.failing_since.is_some() {
            let mut row: webhook_endpoint::ActiveModel = endpoint.into();
            row.failing_since = Set(None);
            row.updated_at = Set(now);
            row.update(db).await?;
        }
        return Ok(());
    }
    let since = endpoint.failing_since.unwrap_or(now);
    let failing_for = now - since;
    let disable = endpoint.enabled
        && time::Duration::try_from(timing.disable_after)
            .map(|limit| failing_for >= limit)
            .unwrap_or(false)
        && endpoint.failing_since.is_some();
    let mut row: webhook_endpoint::ActiveModel = endpoint.clone().into();
    row.failing_since = Set(Some(since));
    row.updated_at = Set(now);
    if disable {
        let reason = format!(
            "Disabled automatically: every delivery has failed since {} (last: {}). \
             Fix the receiver, then enable the endpoint and resend what failed.",
            rfc3339(since),
            outcome.reason
        );
        row.enabled = Set(false);
        row.disabled_reason = Set(Some(reason));
        // What was still waiting for it fails now (and can be resent);
        // so do the dispatches of their orders.
        let waiting: Vec<Option<Uuid>> = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::OrderId)
            .filter(delivery::Column::EndpointId.eq(endpoint_id))
            .filter(delivery::Column::Status.eq(delivery::status::PENDING))
            .filter(delivery::Column::ClaimedUntil.is_null())
            .into_tuple()
            .all(db)
            .await?;
        let orders: Vec<Uuid> = waiting.into_iter().flatten().collect();
        if !orders.is_empty() {
            order::Entity::update_many()
                .col_expr(
                    order::Column::DispatchStatus,
                    Expr::value(order::dispatch_status::FAILED),
                )
                .col_expr(
                    order::Column::DispatchReason,
                    Expr::value(Some(format!(
                        "endpoint disabled after failing: {}",
                        outcome.reason
                    ))),
                )
                .filter(order::Column::Id.is_in(orders))
                .filter(order::Column::DispatchStatus.eq(order::dispatch_status::PENDING))
                .exec(db)
                .await?;
        }
        delivery::Entity::update_many()
            .col_expr(
                delivery::Column::Status,
                Expr::value(delivery::status::FAILED),
            )
            .col_expr(
                delivery::Column::NextAttemptAt,
                Expr::value(Option::<time::OffsetDateTime>::None),
            )
            .col_expr(
                delivery::Column::LastError,
                Expr::value(Some("endpoint disabled after failing".to_string())),
            )
            .col_expr(delivery::Column::FinishedAt, Expr::value(Some(now)))
            .filter(delivery::Column::EndpointId.eq(endpoint_id))
            .filter(delivery::Column::Status.eq(delivery::status::PENDING))
            .filter(delivery::Column::ClaimedUntil.is_null())
            .exec(db)
            .await?;
        audit::record(
            db,
            Some(endpoint.merchant_id),
            Actor::System,
            "webhook_endpoint.auto_disabled",
            format!("webhook_endpoint:{endpoint_id}"),
            None,
            Some(
                serde_json::json!({"failing_since": rfc3339(since), "last_error": outcome.reason}),
            ),
        )
        .await?;
        tracing::warn!(endpoint = %endpoint_id, "webhook endpoint disabled after failing");
    }
    row.update(db).await?;
    Ok(())
}

async fn order_dispatch_state<C: ConnectionTrait>(
    db: &C,
    before: &delivery::Model,
    after: &delivery::Model,
    outcome: &Outcome,
    now: time::OffsetDateTime,
) -> AppResult<()> {
    let Some(order_id) = before.order_id else {
        return Ok(());
    };
    let Some(o) = order::Entity::find_by_id(order_id).one(db).await? else {
        return Ok(());
    };
    // Once an order reached its receiver, later events cannot undo that.
    if o.dispatch_status == order::dispatch_status::DISPATCHED && !outcome.success {
        return Ok(());
    }
    let mut row: order::ActiveModel = o.into();
    if outcome.success {
        row.dispatch_status = Set(order::dispatch_status::DISPATCHED.into());
        row.dispatch_reason = Set(None);
        if let Some(ext) = &outcome.external_order_id {
            row.external_order_id = Set(Some(ext.clone()));
            row.external_provider = Set(Some(
                before
                    .provider
                    .clone()
                    .unwrap_or_else(|| delivery::target::WEBHOOK.to_string()),
            ));
        }
    } else {
        row.dispatch_status = Set(if after.status == delivery::status::FAILED {
            order::dispatch_status::FAILED.into()
        } else {
            order::dispatch_status::PENDING.into()
        });
        row.dispatch_reason = Set(Some(outcome.reason.clone()));
    }
    row.updated_at = Set(now);
    row.update(db).await?;
    Ok(())
}

/// Sends a delivery again now (support or the merchant): one more attempt
/// after the schedule is spent, or an earlier one while it is running.
pub async fn resend<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Option<Uuid>,
    id: Uuid,
) -> AppResult<Delivery> {
    let mut q = delivery::Entity::find_by_id(id);
    if let Some(m) = merchant_id {
        q = q.filter(delivery::Column::MerchantId.eq(m));
    }
    let d = q
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such delivery.".into()))?;
    if d.status == delivery::status::SUCCEEDED {
        return Err(AppError::Conflict(
            "This delivery already succeeded; nothing to resend.".into(),
        ));
    }
    if let Some(endpoint_id) = d.endpoint_id {
        let endpoint = webhook_endpoint::Entity::find_by_id(endpoint_id)
            .one(db)
            .await?;
        if !endpoint.is_some_and(|e| e.enabled) {
            return Err(AppError::Conflict(
                "The endpoint is disabled; enable it before resending.".into(),
            ));
        }
    }
    let now = entity::now();
    let mut row: delivery::ActiveModel = d.clone().into();
    row.status = Set(delivery::status::PENDING.into());
    row.next_attempt_at = Set(Some(now));
    row.finished_at = Set(None);
    row.updated_at = Set(now);
    let row = row.update(db).await?;
    audit::record(
        db,
        Some(d.merchant_id),
        actor,
        "delivery.resend",
        format!("delivery:{id}"),
        None,
        None,
    )
    .await?;
    view_one(db, &row).await
}

async fn view_one<C: ConnectionTrait>(db: &C, d: &delivery::Model) -> AppResult<Delivery> {
    let url = match d.endpoint_id {
        Some(e) => webhook_endpoint::Entity::find_by_id(e)
            .one(db)
            .await?
            .map(|e| e.url),
        None => None,
    };
    Ok(view(d, url))
}

/// The wire view of a delivery.
pub fn view(d: &delivery::Model, endpoint_url: Option<String>) -> Delivery {
    Delivery {
        id: d.id,
        merchant_id: d.merchant_id,
        target: d.target.clone(),
        endpoint_id: d.endpoint_id,
        endpoint_url,
        provider: d.provider.clone(),
        event_type: d.event_type.clone(),
        order_id: d.order_id,
        status: d.status.clone(),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at.map(rfc3339),
        last_status_code: d.last_status_code,
        last_error: d.last_error.clone(),
        created_at: rfc3339(d.created_at),
        finished_at: d.finished_at.map(rfc3339),
    }
}

/// A delivery with its body and attempts; `merchant_id` scopes it (support
/// passes `None`).
pub async fn detail<C: ConnectionTrait>(
    db: &C,
    merchant_id: Option<Uuid>,
    id: Uuid,
) -> AppResult<DeliveryDetail> {
    let mut q = delivery::Entity::find_by_id(id);
    if let Some(m) = merchant_id {
        q = q.filter(delivery::Column::MerchantId.eq(m));
    }
    let d = q
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such delivery.".into()))?;
    detail_of(db, d).await
}

/// Builds the detail view of a loaded delivery.
pub async fn detail_of<C: ConnectionTrait>(
    db: &C,
    d: delivery::Model,
) -> AppResult<DeliveryDetail> {
    let attempts = delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.eq(d.id))
        .order_by_asc(delivery_attempt::Column::Attempt)
        .all(db)
        .await?
        .into_iter()
        .map(|a| DeliveryAttempt {
            attempt: a.attempt,
            attempted_at: rfc3339(a.attempted_at),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            outcome: a.outcome,
            response_excerpt: a.response_excerpt,
            error: a.error,
        })
        .collect();
    Ok(DeliveryDetail {
        delivery: view_one(db, &d).await?,
        body: String::from_utf8_lossy(&d.body).into_owned(),
        attempts,
    })
}

/// The newest deliveries to one of the merchant's endpoints.
pub async fn for_endpoint<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    endpoint_id: Uuid,
    limit: u64,
) -> AppResult<Vec<delivery::Model>> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::MerchantId.eq(merchant_id))
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Failed deliveries across merchants (the support console), newest first.
pub async fn failed<C: ConnectionTrait>(
    db: &C,
    merchant_id: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<Delivery>> {
    let mut q = delivery::Entity::find()
        .filter(delivery::Column::Status.eq(delivery::status::FAILED))
        .order_by_desc(delivery::Column::Id)
        .limit(limit);
    if let Some(m) = merchant_id {
        q = q.filter(delivery::Column::MerchantId.eq(m));
    }
    let rows = q.all(db).await?;
    // One query for every endpoint's URL, not one per delivery.
    let endpoint_ids: Vec<Uuid> = rows.iter().filter_map(|d| d.endpoint_id).collect();
    let urls: std::collections::HashMap<Uuid, String> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e.url))
        .collect();
    Ok(rows
        .iter()
        .map(|d| view(d, d.endpoint_id.and_then(|e| urls.get(&e).cloned())))
        .collect())
}

/// One endpoint with its newest deliveries and its hourly success rate over
/// the last 24 hours (finished deliveries, by when they finished).
pub async fn endpoint_log<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    endpoint_id: Uuid,
    limit: u64,
) -> AppResult<crate::model::outbound::EndpointLog> {
    let endpoint = webhook_endpoint::Entity::find_for_merchant(db, merchant_id, endpoint_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such webhook endpoint.".into()))?;
    let recent = for_endpoint(db, merchant_id, endpoint_id, limit).await?;
    let now = entity::now();
    let start = now
        .replace_minute(0)
        .unwrap_or(now)
        .replace_second(0)
        .unwrap_or(now)
        .replace_nanosecond(0)
        .unwrap_or(now)
        - time::Duration::hours(23);
    let finished: Vec<(time::OffsetDateTime, bool)> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::FinishedAt)
        .column(delivery::Column::Status)
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .filter(delivery::Column::FinishedAt.gte(start))
        .into_tuple::<(Option<time::OffsetDateTime>, String)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(at, status)| at.map(|at| (at, status == delivery::status::SUCCEEDED)))
        .collect();
    let rates = (0..24)
        .map(|h| {
            let from = start + time::Duration::hours(h);
            let to = from + time::Duration::hours(1);
            let in_hour = finished.iter().filter(|(at, _)| *at >= from && *at < to);
            let (ok, bad) = in_hour.fold((0u32, 0u32), |(ok, bad), (_, success)| {
                if *success {
                    (ok + 1, bad)
                } else {
                    (ok, bad + 1)
                }
            });
            crate::model::outbound::DeliveryRate {
                hour: rfc3339(from),
                succeeded: ok,
                failed: bad,
            }
        })
        .collect();
    Ok(crate::model::outbound::EndpointLog {
        endpoint: super::endpoints::view(&endpoint),
        deliveries: recent
            .iter()
            .map(|d| view(d, Some(endpoint.url.clone())))
            .collect(),
        rates,
    })
}
