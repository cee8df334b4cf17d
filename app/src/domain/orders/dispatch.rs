//! Order dispatch (seed 004): the order is validated before anything else
//! (400 before any external call), persisted, and queued for its route —
//! the signed standard webhook to the outlet's registered endpoints, or a
//! POS's own API through its built-in transformer. The first attempt runs
//! at once (the caller gets `dispatched` and the reason); a failure stays
//! in the queue and is retried and replayable.
use entity::{delivery, install, location, order, order_status_history, outbox};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde_json::Value;
use uuid::Uuid;

use super::state_machine;
use super::status;
use crate::domain::inbound::canonical;
use crate::domain::outbound::deliveries::{self, NewDelivery};
use crate::domain::outbound::endpoints;
use crate::error::{AppError, AppResult};
use crate::model::outbound::DispatchRequest;

/// Seed 004's reason when an outlet has nowhere to send orders.
pub const NO_ROUTE: &str = "no dispatch route configured for this outlet/provider";

/// POS providers with a built-in transformer (their `order_dispatch`
/// script turns the order into the POS's own request).
pub const TRANSFORMER_PROVIDERS: [&str; 1] = ["revel"];

/// The script topic of a POS transformer.
pub const DISPATCH_TOPIC: &str = "order_dispatch";

/// An order that passed validation.
#[derive(Debug)]
pub struct ValidOrder {
    pub reference: String,
    pub currency: String,
    pub total_minor: i64,
}

fn amount(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Checks the request before anything is written or sent; every problem
/// is named with its field.
pub fn validate(req: &DispatchRequest) -> AppResult<ValidOrder> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut problem = |field: &str, message: String| problems.push((field.to_string(), message));
    let known =
        req.event.starts_with("order.") && endpoints::EVENT_TYPES.contains(&req.event.as_str());
    if !known {
        problem(
            "event",
            format!(
                "event {:?} is not an order event (order.paid, order.created, …)",
                req.event
            ),
        );
    }
    if let Some(p) = &req.built_in_transformer {
        if !TRANSFORMER_PROVIDERS.contains(&p.as_str()) {
            problem(
                "builtInTransformer",
                format!(
                    "no built-in transformer for {p:?}; available: {}",
                    TRANSFORMER_PROVIDERS.join(", ")
                ),
            );
        }
    }
    let o = &req.order;
    if !o.is_object() {
        return Err(AppError::field("order", "order must be a JSON object"));
    }
    let reference = match o.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 128 => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            problem(
                "order.id",
                "order.id is required: your id for the order (text, at most 128 characters)".into(),
            );
            String::new()
        }
    };
    let currency = match o.get("currency").and_then(Value::as_str) {
        Some(c) if canonical::currency_exponent(c).is_some() => c.to_string(),
        Some(c) => {
            problem(
                "order.currency",
                format!("currency {c:?} is not an ISO 4217 code"),
            );
            String::new()
        }
        None => {
            problem(
                "order.currency",
                "order.currency is required (ISO 4217, e.g. IDR)".into(),
            );
            String::new()
        }
    };
    let mut total_minor = 0;
    match amount(o.get("total")) {
        Some(t) if !currency.is_empty() => match canonical::price_minor(&t, &currency) {
            Ok(v) => total_minor = v,
            Err(e) => problem("order.total", e),
        },
        Some(_) => {}
        None => problem(
            "order.total",
            "order.total is required (a non-negative amount)".into(),
        ),
    }
    match o.get("items").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let field = |f: &str| format!("order.items[{i}].{f}");
                if item
                    .get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| n.trim().is_empty())
                {
                    problem(&field("name"), "every item needs a name".into());
                }
                if item
                    .get("quantity")
                    .and_then(Value::as_i64)
                    .is_none_or(|q| q <= 0)
                {
                    problem(
                        &field("quantity"),
                        "quantity must be a whole number above 0".into(),
                    );
                }
                match amount(item.get("price")) {
                    Some(p) if !currency.is_empty() => {
                        if let Err(e) = canonical::price_minor(&p, &currency) {
                            problem(&field("price"), e);
                        }
                    }
                    Some(_) => {}
                    None => problem(&field("price"), "every item needs a price".into()),
                }
            }
        }
        _ => problem(
            "order.items",
            "order.items must list at least one item".into(),
        ),
    }
    if problems.is_empty() {
        return Ok(ValidOrder {
            reference,
            currency,
            total_minor,
        });
    }
    Err(AppError::InvalidRequest {
        message: format!(
            "The order is not valid: {}",
            problems
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        fields: problems
            .into_iter()
            .map(|(field, message)| crate::error::FieldError { field, message })
            .collect(),
    })
}

/// What was persisted for one dispatch.
pub struct Persisted {
    pub order: order::Model,
    /// The deliveries queued for it (empty: no route).
    pub deliveries: Vec<delivery::Model>,
}

/// Persists the order (found again by its reference on a later event) and
/// queues its deliveries, in one transaction. `body` is the order exactly
/// as the caller sent it: what receivers get, byte for byte. `inline`: the
/// caller attempts the deliveries at once itself (the API); otherwise the
/// workers send them (the UI records the intent and returns).
pub async fn persist<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    merchant_id: Uuid,
    req: &DispatchRequest,
    valid: ValidOrder,
    body: Vec<u8>,
    inline: bool,
) -> AppResult<Persisted> {
    let txn = crate::domain::begin_write(db).await?;
    location::Entity::find_for_merchant(&txn, merchant_id, req.outlet_id)
        .await?
        .ok_or_else(|| AppError::field("outletId", "No such outlet for this merchant."))?;
    let now = entity::now();
    let existing = order::Entity::find()
        .filter(order::Column::MerchantId.eq(merchant_id))
        .filter(order::Column::Reference.eq(valid.reference.clone()))
        .one(&txn)
        .await?;
    let order = match existing {
        Some(o) if o.location_id != req.outlet_id => {
            return Err(AppError::Conflict(format!(
                "Order {:?} belongs to another outlet.",
                valid.reference
            )))
        }
        Some(o) => {
            let mut row: order::ActiveModel = o.clone().into();
            row.payload = Set(req.order.clone());
            row.total_minor = Set(valid.total_minor);
            row.currency = Set(valid.currency.clone());
            // Once an order reached its receiver, a later dispatch (another
            // event) does not make it look undelivered.
            if o.dispatch_status != order::dispatch_status::DISPATCHED {
                row.dispatch_status = Set(order::dispatch_status::PENDING.into());
                row.dispatch_reason = Set(None);
            }
            row.updated_at = Set(now);
            let o = row.update(&txn).await?;
            if req.event == "order.paid" && o.status == state_machine::PENDING {
                status::apply(
                    &txn,
                    &o,
                    state_machine::PAID,
                    "dispatch",
                    status::Announce::OutboxOnly,
                )
                .await?;
            }
            order::Entity::find_by_id(o.id)
                .one(&txn)
                .await?
                .ok_or(AppError::Internal)?
        }
        None => create(&txn, merchant_id, req, &valid, "dispatch").await?,
    };
    let mut queued = Vec::new();
    match &req.built_in_transformer {
        Some(provider) => {
            if pos_install(&txn, merchant_id, req.outlet_id, provider)
                .await?
                .is_some()
            {
                queued.push(
                    deliveries::enqueue(
                        &txn,
                        NewDelivery {
                            merchant_id,
                            location_id: Some(req.outlet_id),
                            target: delivery::target::POS,
                            endpoint_id: None,
                            provider: Some(provider.clone()),
                            event_type: req.event.clone(),
                            order_id: Some(order.id),
                            body,
                            inline,
                        },
                    )
                    .await?,
                );
            }
        }
        None => {
            for endpoint in
                endpoints::subscribed(&txn, merchant_id, Some(req.outlet_id), &req.event).await?
            {
                queued.push(
                    deliveries::enqueue(
                        &txn,
                        NewDelivery {
                            merchant_id,
                            location_id: Some(req.outlet_id),
                            target: delivery::target::WEBHOOK,
                            endpoint_id: Some(endpoint.id),
                            provider: None,
                            event_type: req.event.clone(),
                            order_id: Some(order.id),
                            body: body.clone(),
                            inline,
                        },
                    )
                    .await?,
                );
            }
        }
    }
    let order = if queued.is_empty() {
        let mut row: order::ActiveModel = order.into();
        row.dispatch_status = Set(order::dispatch_status::FAILED.into());
        row.dispatch_reason = Set(Some(NO_ROUTE.into()));
        row.update(&txn).await?
    } else {
        order
    };
    txn.commit().await?;
    Ok(Persisted {
        order,
        deliveries: queued,
    })
}

/// Creates the order of a validated request (PAID for an `order.paid`
/// event, else PENDING) with its first history row and outbox event;
/// `source` names who created it.
pub(crate) async fn create<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    req: &DispatchRequest,
    valid: &ValidOrder,
    source: &str,
) -> AppResult<order::Model> {
    let now = entity::now();
    let initial = if req.event == "order.paid" {
        state_machine::PAID
    } else {
        state_machine::PENDING
    };
    let o = order::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant_id),
        location_id: Set(req.outlet_id),
        reference: Set(valid.reference.clone()),
        status: Set(initial.into()),
        version: Set(1),
        total_minor: Set(valid.total_minor),
        currency: Set(valid.currency.clone()),
        payload: Set(req.order.clone()),
        external_order_id: Set(None),
        external_provider: Set(None),
        dispatch_status: Set(order::dispatch_status::PENDING.into()),
        dispatch_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| {
        crate::domain::conflict_on_unique(
            e,
            "The same order was dispatched twice at the same time; retry.",
        )
    })?;
    order_status_history::ActiveModel {
        order_id: Set(o.id),
        from_status: Set(None),
        to_status: Set(initial.into()),
        version: Set(1),
        source: Set(source.into()),
        at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Capabilities (receipts) follow the order's events; the dispatch
    // itself is the delivery of this event to the outlet's receivers.
    outbox::ActiveModel {
        topic: Set(status::TOPIC.into()),
        kind: Set("event".into()),
        merchant_id: Set(merchant_id),
        key: Set(o.id.to_string()),
        payload: Set(serde_json::json!({
            "event": state_machine::event_type(initial),
            "orderId": o.id,
            "outletId": o.location_id,
            "reference": o.reference,
            "previousStatus": null,
            "status": initial,
            "version": 1,
            "source": source,
            "at": crate::domain::rfc3339(now),
        })),
        source_event_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(o)
}

/// The enabled install of a POS provider at the outlet (per-outlet
/// credentials), if any.
pub async fn pos_install<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    outlet_id: Uuid,
    provider: &str,
) -> AppResult<Option<install::Model>> {
    Ok(install::Entity::list_for_merchant(db, merchant_id)
        .await?
        .into_iter()
        .filter(|i| i.integration_slug == provider && i.enabled)
        .find(|i| i.location_id == Some(outlet_id)))
}
