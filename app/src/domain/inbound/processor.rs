//! The asynchronous half of the pipeline: every acknowledged delivery
//! (`received`) is claimed, parsed by its adapter, mapped (store → location,
//! SKU → item), validated, and turned into canonical commands and events in
//! the outbox, applied to the read models in the same transaction. A
//! failure marks the event `failed` with its class and reason; nothing is
//! dropped. Claims expire, so a crash mid-way only delays an event.
use std::collections::HashMap;
use std::sync::Arc;

use entity::{
    catalog_item, catalog_variant, inbound_event, inbound_idempotency, item_mapping, outbox,
    provider_connection, store_mapping, store_status, variant_mapping,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::adapter::{Family, SourceCommand, Topic};
use super::blob::BlobStore;
use super::canonical;
use super::registry;
use super::transform::{self, TransformFailure, Transformed};
use crate::domain::scripts::Transformers;
use crate::error::AppResult;

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

async fn process_one<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    pipeline: &Pipeline,
    event: inbound_event::Model,
) -> AppResult<()> {
    let planned = plan(db, pipeline, &event, &mut Batch::default()).await;
    record(db, &event, planned).await
}

/// Writes the outcome of a plan: the commands and read models, or the
/// failure. Starts with a write, so on SQLite the transaction takes the
/// write lock at once (a read first could not upgrade after another commit).
async fn record<C: ConnectionTrait + TransactionTrait>(
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

/// A validated command with canonical ids and amounts.
#[derive(Debug)]
enum Canonical {
    UpsertMenuItem {
        item_id: Uuid,
        sku: String,
        name: String,
        category: String,
        price_minor: i64,
        currency: String,
        unit: String,
        available: bool,
        created: bool,
    },
    UpsertVariant {
        item_id: Uuid,
        variant_id: Uuid,
        provider_variant: String,
        name: String,
        price_minor: i64,
        currency: String,
        available: bool,
        created: bool,
    },
    UpdateAvailability {
        item_id: Uuid,
        sku: String,
        available: bool,
    },
    UpdateStockLevel {
        item_id: Uuid,
        sku: String,
        delta: Option<f64>,
        level: Option<f64>,
        unit: String,
    },
    UpdatePrice {
        item_id: Uuid,
        sku: String,
        price_minor: i64,
        currency: String,
    },
    UpdateStoreStatus {
        open: bool,
        reason: Option<String>,
    },
}

struct Plan {
    location: Uuid,
    provider_store_id: String,
    commands: Vec<Canonical>,
}

/// What to do with an event.
enum Planned {
    Apply(Plan),
    /// The script's skip sentinel: nothing to apply.
    Skip(String),
    /// A partner's event (seed 001): forwarded as a canonical event on
    /// `partner.events`, keyed by install.
    Forward {
        install_id: Uuid,
        payload: Value,
    },
}

/// The family of `POST /v1/integrations/{slug}/webhook` deliveries.
pub const PARTNER_FAMILY: &str = "partner";

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

/// What earlier plans of the same batch will have written by the time a
/// later plan is applied (plans are made before anything is written).
#[derive(Default)]
struct Batch {
    /// Items and variants created, by (merchant, provider, SKU or
    /// `variant:<id>`): a later event reuses them instead of creating twins.
    created: HashMap<(Uuid, String, String), Uuid>,
    /// (location, item) pairs upserted: a later update may rely on them.
    listed: std::collections::HashSet<(Uuid, Uuid)>,
}

async fn plan<C: ConnectionTrait>(
    db: &C,
    pipeline: &Pipeline,
    event: &inbound_event::Model,
    batch: &mut Batch,
) -> Result<Planned, Failure> {
    let created_in_batch = &mut batch.created;
    let processing = |e: &dyn std::fmt::Display| Failure::Processing(e.to_string());
    let key = event.blob_key.clone();
    let store = pipeline.blobs.clone();
    let body = tokio::task::spawn_blocking(move || store.get(&key))
        .await
        .map_err(|e| processing(&e))?
        .map_err(|e| Failure::Processing(format!("raw payload unreadable: {e}")))?;
    if hex::encode(Sha256::digest(&body)) != event.body_sha256 {
        return Err(Failure::Processing(
            "raw payload does not match its checksum".into(),
        ));
    }
    if event.family == PARTNER_FAMILY {
        let envelope = crate::domain::partner_webhooks::Envelope::parse(&body)
            .map_err(|e| Failure::Validation(e.to_string()))?;
        return Ok(Planned::Forward {
            install_id: event.connection_id,
            payload: json!({"type": "PartnerEvent", "integration": event.provider,
                "install_id": event.connection_id, "event_id": envelope.event_id,
                "event_type": envelope.kind, "data": envelope.data}),
        });
    }
    let family = match event.family.as_str() {
        "pos" => Family::Pos,
        "erp" => Family::Erp,
        _ => Family::Seller,
    };
    let adapter = registry::find(family, &event.provider)
        .ok_or_else(|| Failure::Processing(format!("no adapter {}", event.provider)))?;
    let topic = Topic::parse(&event.topic)
        .ok_or_else(|| Failure::Processing(format!("unknown topic {}", event.topic)))?;
    let connection = provider_connection::Entity::find_by_id(event.connection_id)
        .one(db)
        .await
        .map_err(|e| processing(&e))?
        .ok_or_else(|| Failure::Mapping("the provider connection was removed".into()))?;
    let input = || {
        transform::script_input(
            &event.provider,
            topic,
            Some(&connection.account_id),
            &event.headers,
            &body,
        )
    };
    let parsed = match transform::transform(adapter, &pipeline.transformers, topic, input, &body)
        .await
    {
        Ok(Transformed::Parsed(parsed)) => parsed,
        Ok(Transformed::Skip(reason)) => return Ok(Planned::Skip(reason)),
        Err(e @ TransformFailure::Malformed(_)) => return Err(Failure::Validation(e.to_string())),
        Err(e) => return Err(Failure::Processing(e.to_string())),
    };
    let store_id = parsed
        .store
        .clone()
        .ok_or_else(|| Failure::Validation("the delivery names no store".into()))?;
    let location = store_mapping::Entity::find()
        .filter(store_mapping::Column::MerchantId.eq(event.merchant_id))
        .filter(store_mapping::Column::Provider.eq(event.provider.clone()))
        .filter(store_mapping::Column::ProviderStoreId.eq(store_id.clone()))
        .one(db)
        .await
        .map_err(|e| processing(&e))?
        .map(|m| m.location_id)
        .ok_or_else(|| {
            Failure::Mapping(format!(
                "store {store_id:?} of {} is not mapped to a location",
                event.provider
            ))
        })?;
    let skus: Vec<String> = parsed
        .commands
        .iter()
        .filter_map(|c| match c {
            SourceCommand::Item { sku, .. }
            | SourceCommand::Variant { sku, .. }
            | SourceCommand::Availability { sku, .. }
            | SourceCommand::StockDelta { sku, .. }
            | SourceCommand::StockLevel { sku, .. }
            | SourceCommand::Price { sku, .. } => Some(sku.clone()),
            SourceCommand::StoreStatus { .. } => None,
        })
        .collect();
    let provider_variants: Vec<String> = parsed
        .commands
        .iter()
        .filter_map(|c| match c {
            SourceCommand::Variant { variant, .. } => Some(variant.clone()),
            _ => None,
        })
        .collect();
    let mut variants: HashMap<String, (Uuid, Uuid)> = if provider_variants.is_empty() {
        HashMap::new()
    } else {
        variant_mapping::Entity::find()
            .filter(variant_mapping::Column::MerchantId.eq(event.merchant_id))
            .filter(variant_mapping::Column::Provider.eq(event.provider.clone()))
            .filter(variant_mapping::Column::ProviderVariantId.is_in(provider_variants))
            .all(db)
            .await
            .map_err(|e| processing(&e))?
            .into_iter()
            .map(|m| (m.provider_variant_id, (m.item_id, m.variant_id)))
            .collect()
    };
    let mut items: HashMap<String, Uuid> = item_mapping::Entity::find()
        .filter(item_mapping::Column::MerchantId.eq(event.merchant_id))
        .filter(item_mapping::Column::Provider.eq(event.provider.clone()))
        .filter(item_mapping::Column::ProviderSku.is_in(skus))
        .all(db)
        .await
        .map_err(|e| processing(&e))?
        .into_iter()
        .map(|m| (m.provider_sku, m.item_id))
        .collect();
    // SKUs an earlier event of this batch creates are mapped by then.
    for ((merchant, provider, sku), id) in created_in_batch.iter() {
        if *merchant == event.merchant_id && *provider == event.provider {
            items.entry(sku.clone()).or_insert(*id);
        }
    }
    let mut commands = Vec::new();
    for source in parsed.commands {
        let mapped = |sku: &str, items: &HashMap<String, Uuid>| {
            items.get(sku).copied().ok_or_else(|| {
                Failure::Mapping(format!(
                    "SKU {sku:?} of {} is not mapped to an item (map it, or allow new items on the connection)",
                    event.provider
                ))
            })
        };
        commands.push(match source {
            SourceCommand::Item {
                sku,
                name,
                category,
                price,
                currency,
                unit,
                available,
            } => {
                let batch_key = (event.merchant_id, event.provider.clone(), sku.clone());
                let (item_id, created) = match items.get(&sku) {
                    Some(id) => (*id, false),
                    None if connection.allow_new_items => match created_in_batch.get(&batch_key) {
                        // Still "created": if the first event fails, this
                        // one's mapping row must exist (inserted once).
                        Some(id) => (*id, true),
                        None => {
                            let id = Uuid::now_v7();
                            items.insert(sku.clone(), id);
                            created_in_batch.insert(batch_key, id);
                            (id, true)
                        }
                    },
                    None => return Err(mapped(&sku, &items).unwrap_err()),
                };
                if name.trim().is_empty() {
                    return Err(Failure::Validation(format!("item {sku:?} has no name")));
                }
                Canonical::UpsertMenuItem {
                    item_id,
                    price_minor: canonical::price_minor(&price, &currency)
                        .map_err(Failure::Validation)?,
                    unit: canonical::unit(unit.as_deref()).map_err(Failure::Validation)?,
                    category: category
                        .filter(|c| !c.trim().is_empty())
                        .unwrap_or_else(|| DEFAULT_CATEGORY.into()),
                    sku,
                    name,
                    currency,
                    available: available.unwrap_or(true),
                    created,
                }
            }
            SourceCommand::Variant {
                sku,
                variant,
                name,
                price,
                currency,
                available,
            } => {
                let item_id = mapped(&sku, &items)?;
                let batch_key = (
                    event.merchant_id,
                    event.provider.clone(),
                    format!("variant:{variant}"),
                );
                let (variant_id, created) = match variants.get(&variant) {
                    Some((parent, _)) if *parent != item_id => {
                        return Err(Failure::Mapping(format!(
                            "variant {variant:?} of {} is mapped to another item than SKU {sku:?}",
                            event.provider
                        )))
                    }
                    Some((_, id)) => (*id, false),
                    None if connection.allow_new_items => {
                        match created_in_batch.get(&batch_key) {
                            Some(id) => (*id, true),
                            None => {
                                let id = Uuid::now_v7();
                                variants.insert(variant.clone(), (item_id, id));
                                created_in_batch.insert(batch_key, id);
                                (id, true)
                            }
                        }
                    }
                    None => {
                        return Err(Failure::Mapping(format!(
                            "variant {variant:?} of {} is not mapped (map it, or allow new items on the connection)",
                            event.provider
                        )))
                    }
                };
                if name.trim().is_empty() {
                    return Err(Failure::Validation(format!(
                        "variant {variant:?} has no name"
                    )));
                }
                Canonical::UpsertVariant {
                    item_id,
                    variant_id,
                    provider_variant: variant,
                    name,
                    price_minor: canonical::price_minor(&price, &currency)
                        .map_err(Failure::Validation)?,
                    currency,
                    available: available.unwrap_or(true),
                    created,
                }
            }
            SourceCommand::Availability { sku, available } => Canonical::UpdateAvailability {
                item_id: mapped(&sku, &items)?,
                sku,
                available,
            },
            SourceCommand::StockDelta { sku, delta, unit } => Canonical::UpdateStockLevel {
                item_id: mapped(&sku, &items)?,
                delta: Some(canonical::quantity(&delta).map_err(Failure::Validation)?),
                level: None,
                unit: canonical::unit(unit.as_deref()).map_err(Failure::Validation)?,
                sku,
            },
            SourceCommand::StockLevel { sku, level, unit } => Canonical::UpdateStockLevel {
                item_id: mapped(&sku, &items)?,
                delta: None,
                level: Some(canonical::quantity(&level).map_err(Failure::Validation)?),
                unit: canonical::unit(unit.as_deref()).map_err(Failure::Validation)?,
                sku,
            },
            SourceCommand::Price {
                sku,
                price,
                currency,
            } => Canonical::UpdatePrice {
                item_id: mapped(&sku, &items)?,
                price_minor: canonical::price_minor(&price, &currency)
                    .map_err(Failure::Validation)?,
                currency,
                sku,
            },
            SourceCommand::StoreStatus { open, reason } => {
                Canonical::UpdateStoreStatus { open, reason }
            }
        });
    }
    // Updates need the item on this location's catalog: an update for an
    // item the location does not list yet is a mapping failure, not a
    // silent no-op.
    let listed_here: std::collections::HashSet<Uuid> = commands
        .iter()
        .filter_map(|c| match c {
            Canonical::UpsertMenuItem { item_id, .. } => Some(*item_id),
            _ => None,
        })
        .collect();
    let updated: Vec<(Uuid, String)> = commands
        .iter()
        .filter_map(|c| match c {
            Canonical::UpdateAvailability { item_id, sku, .. }
            | Canonical::UpdateStockLevel { item_id, sku, .. }
            | Canonical::UpdatePrice { item_id, sku, .. } => {
                Some((*item_id, format!("item {sku:?}")))
            }
            Canonical::UpsertVariant {
                item_id,
                provider_variant,
                ..
            } => Some((
                *item_id,
                format!("the item of variant {provider_variant:?}"),
            )),
            _ => None,
        })
        .filter(|(id, _)| !listed_here.contains(id) && !batch.listed.contains(&(location, *id)))
        .collect();
    if !updated.is_empty() {
        let ids: Vec<Uuid> = updated.iter().map(|(id, _)| *id).collect();
        let on_catalog: std::collections::HashSet<Uuid> = catalog_item::Entity::find()
            .select_only()
            .column(catalog_item::Column::ItemId)
            .filter(catalog_item::Column::LocationId.eq(location))
            .filter(catalog_item::Column::ItemId.is_in(ids))
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| processing(&e))?
            .into_iter()
            .collect();
        if let Some((_, what)) = updated.iter().find(|(id, _)| !on_catalog.contains(id)) {
            return Err(Failure::Mapping(format!(
                "{what} is not on the catalog of the location store {store_id:?} maps to yet; send its menu or feed first"
            )));
        }
    }
    batch
        .listed
        .extend(listed_here.into_iter().map(|item| (location, item)));
    Ok(Planned::Apply(Plan {
        location,
        provider_store_id: store_id,
        commands,
    }))
}

async fn emit<C: ConnectionTrait>(
    db: &C,
    event: &inbound_event::Model,
    topic: &str,
    kind: &str,
    key: String,
    payload: Value,
) -> AppResult<()> {
    outbox::ActiveModel {
        topic: Set(topic.into()),
        kind: Set(kind.into()),
        merchant_id: Set(event.merchant_id),
        key: Set(key),
        payload: Set(payload),
        source_event_id: Set(Some(event.id)),
        created_at: Set(entity::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Rows written in bulk: thousands of items in one import go to the
/// database in a few statements.
#[derive(Default)]
struct Bulk {
    outbox: Vec<outbox::ActiveModel>,
    mappings: Vec<item_mapping::ActiveModel>,
    items: Vec<catalog_item::ActiveModel>,
}

/// Statements per bulk insert (well under the parameter limits of SQLite
/// and PostgreSQL).
const CHUNK: usize = 400;

impl Bulk {
    fn emit(
        &mut self,
        event: &inbound_event::Model,
        topic: &str,
        kind: &str,
        key: String,
        payload: Value,
    ) {
        self.outbox.push(outbox::ActiveModel {
            topic: Set(topic.into()),
            kind: Set(kind.into()),
            merchant_id: Set(event.merchant_id),
            key: Set(key),
            payload: Set(payload),
            source_event_id: Set(Some(event.id)),
            created_at: Set(entity::now()),
            ..Default::default()
        });
    }

    async fn flush<C: ConnectionTrait>(&mut self, db: &C) -> AppResult<()> {
        for chunk in std::mem::take(&mut self.mappings).chunks(CHUNK) {
            item_mapping::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        item_mapping::Column::MerchantId,
                        item_mapping::Column::Provider,
                        item_mapping::Column::ProviderSku,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
        // One row per item: PostgreSQL refuses to upsert a row twice in
        // one statement, and the last word wins anyway.
        let mut items = std::mem::take(&mut self.items);
        let mut seen = std::collections::HashSet::new();
        items.reverse();
        items.retain(|i| match &i.item_id {
            sea_orm::ActiveValue::Set(id) => seen.insert(*id),
            _ => true,
        });
        items.reverse();
        for chunk in items.chunks(CHUNK) {
            catalog_item::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        catalog_item::Column::LocationId,
                        catalog_item::Column::ItemId,
                    ])
                    .update_columns([
                        catalog_item::Column::Name,
                        catalog_item::Column::Category,
                        catalog_item::Column::PriceMinor,
                        catalog_item::Column::Currency,
                        catalog_item::Column::Available,
                        catalog_item::Column::Unit,
                        catalog_item::Column::UpdatedAt,
                    ])
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
        for chunk in std::mem::take(&mut self.outbox).chunks(CHUNK / 2) {
            outbox::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        Ok(())
    }
}

async fn apply<C: ConnectionTrait>(
    db: &C,
    event: &inbound_event::Model,
    plan: Plan,
) -> AppResult<()> {
    let location = plan.location;
    let now = entity::now();
    let mut bulk = Bulk::default();
    for command in plan.commands {
        if !matches!(command, Canonical::UpsertMenuItem { .. }) {
            // Updates read what the upserts before them wrote.
            bulk.flush(db).await?;
        }
        match command {
            Canonical::UpsertMenuItem {
                item_id,
                sku,
                name,
                category,
                price_minor,
                currency,
                unit,
                available,
                created,
            } => {
                if created {
                    bulk.mappings.push(item_mapping::ActiveModel {
                        merchant_id: Set(event.merchant_id),
                        provider: Set(event.provider.clone()),
                        provider_sku: Set(sku.clone()),
                        item_id: Set(item_id),
                        created_at: Set(now),
                    });
                }
                // A POS menu item; a catalog item from warehouses and feeds.
                let command = if event.family == "pos" {
                    "UpsertMenuItem"
                } else {
                    "UpsertCatalogItem"
                };
                bulk.emit(
                    event,
                    "catalog.commands",
                    "command",
                    item_id.to_string(),
                    json!({"type": command, "item_id": item_id, "location_id": location,
                    "sku": sku, "name": name, "category": category, "price_minor": price_minor,
                    "currency": currency, "unit": unit, "available": available}),
                );
                bulk.emit(event, "catalog.events", "event", item_id.to_string(),
                    json!({"type": "CatalogItemUpserted", "item_id": item_id, "location_id": location}));
                bulk.emit(
                    event,
                    "pricing.events",
                    "event",
                    item_id.to_string(),
                    json!({"type": "PriceSet", "item_id": item_id, "location_id": location,
                           "price_minor": price_minor, "currency": currency}),
                );
                bulk.items.push(catalog_item::ActiveModel {
                    merchant_id: Set(event.merchant_id),
                    location_id: Set(location),
                    item_id: Set(item_id),
                    provider_sku: Set(sku),
                    name: Set(name),
                    category: Set(category),
                    price_minor: Set(price_minor),
                    currency: Set(currency),
                    available: Set(available),
                    stock_level: Set(None),
                    unit: Set(unit),
                    updated_at: Set(now),
                });
            }
            Canonical::UpsertVariant {
                item_id,
                variant_id,
                provider_variant,
                name,
                price_minor,
                currency,
                available,
                created,
            } => {
                if created {
                    variant_mapping::Entity::insert(variant_mapping::ActiveModel {
                        merchant_id: Set(event.merchant_id),
                        provider: Set(event.provider.clone()),
                        provider_variant_id: Set(provider_variant.clone()),
                        item_id: Set(item_id),
                        variant_id: Set(variant_id),
                        created_at: Set(now),
                    })
                    .on_conflict(
                        OnConflict::columns([
                            variant_mapping::Column::MerchantId,
                            variant_mapping::Column::Provider,
                            variant_mapping::Column::ProviderVariantId,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(db)
                    .await?;
                }
                emit(db, event, "catalog.commands", "command", item_id.to_string(),
                    json!({"type": "UpsertVariant", "item_id": item_id, "variant_id": variant_id,
                           "location_id": location, "provider_variant_id": provider_variant, "name": name,
                           "price_minor": price_minor, "currency": currency, "available": available})).await?;
                emit(db, event, "catalog.events", "event", item_id.to_string(),
                    json!({"type": "VariantUpserted", "item_id": item_id, "variant_id": variant_id, "location_id": location})).await?;
                emit(db, event, "pricing.events", "event", item_id.to_string(),
                    json!({"type": "PriceSet", "item_id": item_id, "variant_id": variant_id, "location_id": location,
                           "price_minor": price_minor, "currency": currency})).await?;
                catalog_variant::Entity::insert(catalog_variant::ActiveModel {
                    merchant_id: Set(event.merchant_id),
                    location_id: Set(location),
                    variant_id: Set(variant_id),
                    item_id: Set(item_id),
                    provider_variant_id: Set(provider_variant),
                    name: Set(name),
                    price_minor: Set(price_minor),
                    currency: Set(currency),
                    available: Set(available),
                    updated_at: Set(now),
                })
                .on_conflict(
                    OnConflict::columns([
                        catalog_variant::Column::LocationId,
                        catalog_variant::Column::VariantId,
                    ])
                    .update_columns([
                        catalog_variant::Column::Name,
                        catalog_variant::Column::PriceMinor,
                        catalog_variant::Column::Currency,
                        catalog_variant::Column::Available,
                        catalog_variant::Column::UpdatedAt,
                    ])
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
            }
            Canonical::UpdateAvailability {
                item_id,
                sku,
                available,
            } => {
                emit(db, event, "catalog.commands", "command", item_id.to_string(),
                    json!({"type": "UpdateStockLevel", "item_id": item_id, "location_id": location, "sku": sku, "available": available})).await?;
                let res = catalog_item::Entity::update_many()
                    .col_expr(catalog_item::Column::Available, Expr::value(available))
                    .col_expr(catalog_item::Column::UpdatedAt, Expr::value(now))
                    .filter(catalog_item::Column::LocationId.eq(location))
                    .filter(catalog_item::Column::ItemId.eq(item_id))
                    .exec(db)
                    .await?;
                if res.rows_affected == 1 {
                    emit(db, event, "inventory.events", "event", item_id.to_string(),
                        json!({"type": "AvailabilityChanged", "item_id": item_id, "location_id": location, "available": available})).await?;
                }
            }
            Canonical::UpdateStockLevel {
                item_id,
                sku,
                delta,
                level,
                unit,
            } => {
                emit(
                    db,
                    event,
                    "catalog.commands",
                    "command",
                    item_id.to_string(),
                    json!({"type": "UpdateStockLevel", "item_id": item_id, "location_id": location,
                           "sku": sku, "delta": delta, "level": level, "unit": unit}),
                )
                .await?;
                let value = match (delta, level) {
                    (_, Some(level)) => Expr::value(Some(level)),
                    (Some(delta), None) => Expr::expr(sea_orm::sea_query::Func::coalesce([
                        Expr::col(catalog_item::Column::StockLevel).into(),
                        Expr::val(0.0f64).into(),
                    ]))
                    .add(delta),
                    (None, None) => continue,
                };
                catalog_item::Entity::update_many()
                    .col_expr(catalog_item::Column::StockLevel, value)
                    .col_expr(catalog_item::Column::UpdatedAt, Expr::value(now))
                    .filter(catalog_item::Column::LocationId.eq(location))
                    .filter(catalog_item::Column::ItemId.eq(item_id))
                    .exec(db)
                    .await?;
                emit(db, event, "inventory.events", "event", item_id.to_string(),
                    json!({"type": "StockLevelChanged", "item_id": item_id, "location_id": location, "delta": delta, "level": level})).await?;
            }
            Canonical::UpdatePrice {
                item_id,
                sku,
                price_minor,
                currency,
            } => {
                emit(db, event, "catalog.commands", "command", item_id.to_string(),
                    json!({"type": "UpdatePrice", "item_id": item_id, "location_id": location, "sku": sku,
                           "price_minor": price_minor, "currency": currency})).await?;
                catalog_item::Entity::update_many()
                    .col_expr(catalog_item::Column::PriceMinor, Expr::value(price_minor))
                    .col_expr(
                        catalog_item::Column::Currency,
                        Expr::value(currency.clone()),
                    )
                    .col_expr(catalog_item::Column::UpdatedAt, Expr::value(now))
                    .filter(catalog_item::Column::LocationId.eq(location))
                    .filter(catalog_item::Column::ItemId.eq(item_id))
                    .exec(db)
                    .await?;
                emit(db, event, "pricing.events", "event", item_id.to_string(),
                    json!({"type": "PriceSet", "item_id": item_id, "location_id": location, "price_minor": price_minor, "currency": currency})).await?;
            }
            Canonical::UpdateStoreStatus { open, reason } => {
                emit(db, event, "catalog.commands", "command", location.to_string(),
                    json!({"type": "UpdateStoreStatus", "location_id": location, "open": open, "reason": reason})).await?;
                store_status::Entity::insert(store_status::ActiveModel {
                    location_id: Set(location),
                    merchant_id: Set(event.merchant_id),
                    open: Set(open),
                    reason: Set(reason.clone()),
                    updated_at: Set(now),
                })
                .on_conflict(
                    OnConflict::column(store_status::Column::LocationId)
                        .update_columns([
                            store_status::Column::Open,
                            store_status::Column::Reason,
                            store_status::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
                emit(db, event, "store-status.events", "event", location.to_string(),
                    json!({"type": "StoreStatusChanged", "location_id": location, "open": open, "reason": reason})).await?;
            }
        }
    }
    bulk.flush(db).await
}

async fn fail<C: ConnectionTrait + TransactionTrait>(
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
