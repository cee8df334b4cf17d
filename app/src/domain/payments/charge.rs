//! Creating a QRIS charge: the request is checked, the order found (or
//! validated, to be saved as PENDING), and the location's gateways tried in
//! order until one creates the charge. Only then is anything written — the
//! order, the payment with the provider that served and the providers that
//! failed before it, and a `payment.created` event — in one transaction.
//! When every provider fails the caller gets each one's reason and nothing
//! is written. An `Idempotency-Key` makes a retried create answer the
//! payment it made the first time.
use std::time::Instant;

use entity::crypto::KeyRing;
use entity::{location, order, outbox, payment};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::factory::{self, Gateway};
use super::{items, ChargeError, ChargeInput, Created, HttpRequest, Settings, TOPIC};
use crate::domain::inbound::canonical;
use crate::domain::orders::{dispatch, state_machine};
use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::outbound::DispatchRequest;
use crate::model::payments::{FailoverAttempt, Payment, PaymentRequest};

/// QRIS settles in rupiah.
pub const CURRENCY: &str = "IDR";
/// Minutes a QR stays payable unless the request says otherwise.
pub const DEFAULT_EXPIRY_MINUTES: i64 = 15;

/// The answer to a create: the payment, and whether it was made by an
/// earlier request with the same idempotency key.
pub struct Charged {
    pub payment: Payment,
    pub replayed: bool,
}

/// The order a charge is for: found, or to be created with the payment.
enum Target {
    Existing(order::Model),
    New {
        request: DispatchRequest,
        valid: dispatch::ValidOrder,
    },
}

impl Target {
    fn amount_minor(&self) -> i64 {
        match self {
            Target::Existing(o) => o.total_minor,
            Target::New { valid, .. } => valid.total_minor,
        }
    }

    fn currency(&self) -> &str {
        match self {
            Target::Existing(o) => &o.currency,
            Target::New { valid, .. } => &valid.currency,
        }
    }

    fn payload(&self) -> &Value {
        match self {
            Target::Existing(o) => &o.payload,
            Target::New { request, .. } => &request.order,
        }
    }
}

/// Creates (or, for a repeated idempotency key, finds) a charge.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
    settings: &Settings,
    merchant_id: Uuid,
    req: &PaymentRequest,
    idempotency_key: Option<&str>,
) -> AppResult<Charged> {
    let key = match idempotency_key.map(str::trim) {
        Some(k) if k.is_empty() || k.len() > 255 => {
            return Err(AppError::field(
                "Idempotency-Key",
                "The Idempotency-Key header must be 1 to 255 characters.",
            ))
        }
        other => other,
    };
    let hash = hex::encode(Sha256::digest(
        serde_json::to_vec(req).map_err(|_| AppError::Internal)?,
    ));
    if let Some(key) = key {
        if let Some(done) = by_key(db, merchant_id, key).await? {
            return replay(db, done, &hash).await;
        }
    }
    let expiry = req.expiry_minutes.unwrap_or(DEFAULT_EXPIRY_MINUTES);
    if !(1..=1440).contains(&expiry) {
        return Err(AppError::field(
            "expiryMinutes",
            "expiryMinutes must be between 1 and 1440.",
        ));
    }
    location::Entity::find_for_merchant(db, merchant_id, req.outlet_id)
        .await?
        .ok_or_else(|| AppError::field("outletId", "No such outlet for this merchant."))?;
    let target = target(db, merchant_id, req).await?;
    if target.currency() != CURRENCY {
        return Err(AppError::field(
            "order.currency",
            format!("QRIS charges are in IDR, not {}.", target.currency()),
        ));
    }
    if items::whole_units(target.amount_minor(), CURRENCY) <= 0 {
        return Err(AppError::field(
            "order.total",
            "A QRIS charge needs an amount of at least 1 rupiah.",
        ));
    }
    let gateways = factory::for_location(db, keys, merchant_id, req.outlet_id).await?;
    if gateways.is_empty() {
        return Err(AppError::IntegrationNotInstalled(
            "No payment provider is installed at this outlet: install Midtrans or Xendit there first.".into(),
        ));
    }
    let id = Uuid::now_v7();
    let now = entity::now();
    let input = ChargeInput {
        reference: id.to_string(),
        amount_minor: target.amount_minor(),
        currency: CURRENCY.into(),
        items: items::from_order(target.payload(), CURRENCY),
        expires_at: now + time::Duration::minutes(expiry),
        notification_url: String::new(),
    };
    let (gateway, created, failover) = charge_first(settings, &gateways, input.clone()).await?;
    let txn = crate::domain::begin_write(db).await?;
    if let Some(k) = key {
        // The same key's first request finished while this one was at the
        // providers: answer its payment.
        if let Some(done) = by_key(&txn, merchant_id, k).await? {
            txn.rollback().await?;
            return replay(db, done, &hash).await;
        }
    }
    let order = match target {
        Target::Existing(o) => {
            // Read again under the write lock: the order may have been paid,
            // cancelled or charged while the providers were asked.
            let now_order = order::Entity::find_by_id(o.id)
                .lock_exclusive()
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::NotFound("No such order.".into()))?;
            chargeable(&txn, &now_order).await?;
            now_order
        }
        Target::New { request, valid } => {
            match dispatch::create(&txn, merchant_id, &request, &valid, "payment").await {
                Ok(o) => o,
                Err(AppError::Conflict(m)) => {
                    // The same new order raced this request and won.
                    txn.rollback().await?;
                    if let Some(done) = match key {
                        Some(k) => by_key(db, merchant_id, k).await?,
                        None => None,
                    } {
                        return replay(db, done, &hash).await;
                    }
                    return Err(AppError::Conflict(m));
                }
                Err(e) => return Err(e),
            }
        }
    };
    let row = payment::ActiveModel {
        id: Set(id),
        merchant_id: Set(merchant_id),
        location_id: Set(req.outlet_id),
        order_id: Set(order.id),
        provider: Set(gateway.provider.name().into()),
        install_id: Set(gateway.install.id),
        provider_transaction_id: Set(created.transaction_id),
        qr_string: Set(created.qr_string),
        amount_minor: Set(order.total_minor),
        currency: Set(CURRENCY.into()),
        gross_amount: Set(items::whole_units(order.total_minor, CURRENCY).to_string()),
        status: Set(payment::status::PENDING.into()),
        expires_at: Set(input.expires_at),
        idempotency_key: Set(key.map(str::to_string)),
        request_hash: Set(hash.clone()),
        failover: Set(serde_json::to_value(&failover).unwrap_or(Value::Array(vec![]))),
        paid_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await;
    let row = match row {
        Ok(row) => row,
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            // The same key raced this request and won: answer its payment.
            txn.rollback().await?;
            let done = by_key(db, merchant_id, key.unwrap_or_default())
                .await?
                .ok_or(AppError::Internal)?;
            return replay(db, done, &hash).await;
        }
        Err(e) => return Err(e.into()),
    };
    publish(&txn, &row, &order, "payment.created").await?;
    txn.commit().await?;
    Ok(Charged {
        payment: view(&row, &order.reference),
        replayed: false,
    })
}

async fn by_key<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    key: &str,
) -> AppResult<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::MerchantId.eq(merchant_id))
        .filter(payment::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

async fn replay<C: ConnectionTrait>(
    db: &C,
    done: payment::Model,
    hash: &str,
) -> AppResult<Charged> {
    if done.request_hash != hash {
        return Err(AppError::Conflict(
            "This Idempotency-Key was already used for a different payment request; use a new key."
                .into(),
        ));
    }
    let reference = order::Entity::find_by_id(done.order_id)
        .one(db)
        .await?
        .map(|o| o.reference)
        .unwrap_or_default();
    Ok(Charged {
        payment: view(&done, &reference),
        replayed: true,
    })
}

async fn target<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    req: &PaymentRequest,
) -> AppResult<Target> {
    let existing = match (&req.order_id, &req.order) {
        (Some(_), Some(_)) => {
            return Err(AppError::field(
                "orderId",
                "Send either orderId (an order Plugboard has) or order (a new one), not both.",
            ))
        }
        (None, None) => {
            return Err(AppError::field(
                "orderId",
                "Send orderId (an order Plugboard has) or order (a new one).",
            ))
        }
        (Some(id), None) => order::Entity::find_for_merchant(db, merchant_id, *id)
            .await?
            .ok_or_else(|| AppError::field("orderId", "No such order for this merchant."))?,
        (None, Some(order)) => {
            let request = DispatchRequest {
                outlet_id: req.outlet_id,
                event: "order.created".into(),
                order: order.clone(),
                built_in_transformer: None,
            };
            let valid = dispatch::validate(&request)?;
            // The same order charged again (a new QR after the first
            // expired) is the order already saved.
            match order::Entity::find()
                .filter(order::Column::MerchantId.eq(merchant_id))
                .filter(order::Column::Reference.eq(valid.reference.clone()))
                .one(db)
                .await?
            {
                Some(o) if o.total_minor != valid.total_minor || o.currency != valid.currency => {
                    return Err(AppError::Conflict(format!(
                        "Order {:?} exists with another total ({} {}); charge it by orderId, or use a new order id.",
                        valid.reference,
                        canonical::format_minor(o.total_minor, &o.currency),
                        o.currency
                    )))
                }
                Some(o) => o,
                None => return Ok(Target::New { request, valid }),
            }
        }
    };
    if existing.location_id != req.outlet_id {
        return Err(AppError::field(
            "outletId",
            "The order belongs to another outlet.",
        ));
    }
    chargeable(db, &existing).await?;
    Ok(Target::Existing(existing))
}

/// An order can be charged while it is PENDING and has no charge a
/// customer could still pay (one QR at a time: two paid QRs would be a
/// double payment).
async fn chargeable<C: ConnectionTrait>(db: &C, o: &order::Model) -> AppResult<()> {
    if o.status != state_machine::PENDING {
        return Err(AppError::Conflict(format!(
            "The order is {} already; only a PENDING order can be charged.",
            o.status
        )));
    }
    let live = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(o.id))
        .filter(payment::Column::Status.eq(payment::status::PENDING))
        .filter(payment::Column::ExpiresAt.gt(entity::now()))
        .one(db)
        .await?;
    if let Some(p) = live {
        return Err(AppError::Conflict(format!(
            "The order has a QRIS charge waiting to be paid ({}, until {}); show that one, or charge again once it expires.",
            p.id,
            rfc3339(p.expires_at)
        )));
    }
    Ok(())
}

/// Tries the gateways in order; answers the first that created the charge
/// with the failures before it.
async fn charge_first<'g>(
    settings: &Settings,
    gateways: &'g [Gateway],
    mut input: ChargeInput,
) -> AppResult<(&'g Gateway, Created, Vec<FailoverAttempt>)> {
    let mut failover = Vec::new();
    for gateway in gateways {
        let name = gateway.provider.name();
        let started = Instant::now();
        input.notification_url = settings.notification_url(name);
        let result = charge_one(settings, gateway, &input).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(created) => {
                if !failover.is_empty() {
                    tracing::warn!(
                        provider = name,
                        failed = failover.len(),
                        "payment served by a backup provider"
                    );
                }
                return Ok((gateway, created, failover));
            }
            Err(e) => {
                tracing::warn!(provider = name, error = %e, latency_ms, "payment provider failed");
                let next = e.fails_over();
                failover.push(FailoverAttempt {
                    provider: name.into(),
                    error: e.to_string(),
                    latency_ms,
                });
                if !next {
                    break;
                }
            }
        }
    }
    Err(AppError::PaymentProvider(format!(
        "No payment provider could create the charge; nothing was saved. {}",
        failover
            .iter()
            .map(|f| format!("{}: {}", f.provider, f.error))
            .collect::<Vec<_>>()
            .join("; ")
    )))
}

async fn charge_one(
    settings: &Settings,
    gateway: &Gateway,
    input: &ChargeInput,
) -> Result<Created, ChargeError> {
    let provider = gateway.provider;
    provider
        .credentials_ready(&gateway.settings)
        .map_err(ChargeError::NotConfigured)?;
    let base = settings
        .base_url(provider.name())
        .map(str::to_string)
        .unwrap_or_else(|| provider.default_base_url(&gateway.settings));
    let request = provider.charge_request(&base, &gateway.settings, input);
    let (status, body) = send(settings, request).await?;
    provider.read_charge(status, &body)
}

/// Sends one provider request within the configured timeout.
pub async fn send(
    settings: &Settings,
    request: HttpRequest,
) -> Result<(u16, Vec<u8>), ChargeError> {
    let timeout_ms = settings.timeout.as_millis() as u64;
    let mut builder = settings
        .client
        .post(&request.url)
        .timeout(settings.timeout)
        .body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            ChargeError::Timeout(timeout_ms)
        } else {
            ChargeError::Transport(e.without_url().to_string())
        }
    };
    let response = builder.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(failed)?;
    Ok((status, body.to_vec()))
}

/// Writes a payment event to the outbox (the live board and capabilities
/// read it there).
pub(crate) async fn publish<C: ConnectionTrait>(
    db: &C,
    p: &payment::Model,
    order: &order::Model,
    event: &str,
) -> AppResult<()> {
    outbox::ActiveModel {
        topic: Set(TOPIC.into()),
        kind: Set("event".into()),
        merchant_id: Set(p.merchant_id),
        key: Set(p.order_id.to_string()),
        payload: Set(json!({
            "event": event,
            "paymentId": p.id,
            "orderId": p.order_id,
            "outletId": p.location_id,
            "reference": order.reference,
            "provider": p.provider,
            "status": p.status,
            "amount": canonical::format_minor(p.amount_minor, &p.currency),
            "currency": p.currency,
            "expiresAt": rfc3339(p.expires_at),
            "at": rfc3339(entity::now()),
        })),
        source_event_id: Set(None),
        created_at: Set(entity::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The wire view of a payment. A pending charge past its expiry shows as
/// expired (the provider's own expiry notice may come later, or never; a
/// late settlement still counts).
pub fn view(p: &payment::Model, order_reference: &str) -> Payment {
    let status = if p.status == payment::status::PENDING && p.expires_at <= entity::now() {
        payment::status::EXPIRED.to_string()
    } else {
        p.status.clone()
    };
    Payment {
        id: p.id,
        order_id: p.order_id,
        outlet_id: p.location_id,
        order_reference: order_reference.to_string(),
        status,
        provider: p.provider.clone(),
        provider_transaction_id: p.provider_transaction_id.clone(),
        qr_string: p.qr_string.clone(),
        qr_image_url: format!("/api/v1/payments/{}/qr.svg", p.id),
        amount: canonical::format_minor(p.amount_minor, &p.currency),
        amount_minor: p.amount_minor,
        currency: p.currency.clone(),
        gross_amount: p.gross_amount.clone(),
        expires_at: rfc3339(p.expires_at),
        paid_at: p.paid_at.map(rfc3339),
        failover: serde_json::from_value(p.failover.clone()).unwrap_or_default(),
        created_at: rfc3339(p.created_at),
    }
}

/// One payment of the merchant.
pub async fn get<C: ConnectionTrait>(db: &C, merchant_id: Uuid, id: Uuid) -> AppResult<Payment> {
    let p = payment::Entity::find_for_merchant(db, merchant_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such payment.".into()))?;
    let reference = order::Entity::find_by_id(p.order_id)
        .one(db)
        .await?
        .map(|o| o.reference)
        .unwrap_or_default();
    Ok(view(&p, &reference))
}

/// The newest payments at a location.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<Payment>> {
    use sea_orm::QueryOrder;
    let mut q = payment::Entity::find()
        .filter(payment::Column::MerchantId.eq(merchant_id))
        .order_by_desc(payment::Column::CreatedAt)
        .limit(limit);
    if let Some(l) = location_id {
        q = q.filter(payment::Column::LocationId.eq(l));
    }
    let rows = q.all(db).await?;
    let ids: Vec<Uuid> = rows.iter().map(|p| p.order_id).collect();
    let refs: std::collections::HashMap<Uuid, String> = order::Entity::find()
        .filter(order::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.reference))
        .collect();
    Ok(rows
        .iter()
        .map(|p| view(p, refs.get(&p.order_id).map(String::as_str).unwrap_or("")))
        .collect())
}
