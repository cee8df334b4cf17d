//! Reading and planning an event: its raw body is checked and parsed by its
//! adapter, its store and SKUs are mapped, and its commands are validated
//! into canonical form, all before anything is written.
use std::collections::HashMap;

use entity::{
    catalog_item, inbound_event, item_mapping, provider_connection, store_mapping, variant_mapping,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Failure, Pipeline, DEFAULT_CATEGORY, PARTNER_FAMILY};
use crate::domain::inbound::adapter::{Family, SourceCommand, Topic};
use crate::domain::inbound::canonical;
use crate::domain::inbound::registry;
use crate::domain::inbound::transform::{self, TransformFailure, Transformed};

/// A validated command with canonical ids and amounts.
#[derive(Clone, Debug)]
pub(super) enum Canonical {
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

#[derive(Clone)]
pub(super) struct Plan {
    pub(super) location: Uuid,
    pub(super) provider_store_id: String,
    pub(super) commands: Vec<Canonical>,
}

/// What to do with an event.
pub(super) enum Planned {
    Apply(Plan),
    /// The script's skip sentinel: nothing to apply.
    Skip(String),
    /// A partner's event (seed 001): forwarded as a canonical event on
    /// `partner.events`, keyed by install.
    Forward {
        install_id: Uuid,
        payload: Value,
    },
    /// A payment provider's notification, read and checked against its
    /// payment.
    Payment(crate::domain::payments::notify::Settlement),
}

/// What earlier plans of the same batch will have written by the time a
/// later plan is applied (plans are made before anything is written).
#[derive(Default)]
pub(super) struct Batch {
    /// Items and variants created, by (merchant, provider, SKU or
    /// `variant:<id>`): a later event reuses them instead of creating twins.
    created: HashMap<(Uuid, String, String), Uuid>,
    /// (location, item) pairs upserted: a later update may rely on them.
    listed: std::collections::HashSet<(Uuid, Uuid)>,
    /// Connections read by earlier plans (most of a batch comes from a few).
    connections: HashMap<Uuid, Option<provider_connection::Model>>,
    /// Store mappings read by earlier plans, by (merchant, provider, store).
    stores: HashMap<(Uuid, String, String), Option<Uuid>>,
}

/// Plans one event (a replay).
pub(super) async fn plan<C: ConnectionTrait>(
    db: &C,
    pipeline: &Pipeline,
    event: &inbound_event::Model,
    batch: &mut Batch,
) -> Result<Planned, Failure> {
    match plan_all(db, pipeline, std::slice::from_ref(event), batch).await {
        Ok(mut planned) => planned
            .pop()
            .unwrap_or_else(|| Err(Failure::Processing("nothing was planned".into()))),
        Err(e) => Err(Failure::Processing(e.to_string())),
    }
}

/// Plans a claimed batch, in order, with few round trips: the bodies are
/// read in one blocking call, and the SKU mappings of every event in one
/// query per provider account, not one per event. An error of that query
/// is the database's, not the events': the caller lets their claims expire
/// and tries again.
pub(super) async fn plan_all<C: ConnectionTrait>(
    db: &C,
    pipeline: &Pipeline,
    events: &[inbound_event::Model],
    batch: &mut Batch,
) -> Result<Vec<Result<Planned, Failure>>, sea_orm::DbErr> {
    let bodies = read_bodies(pipeline, events).await;
    let mut staged = Vec::with_capacity(events.len());
    for (i, (event, body)) in events.iter().zip(bodies).enumerate() {
        yield_every(i).await;
        staged.push(match body {
            Ok(body) => stage(db, pipeline, event, body, batch).await,
            Err(failure) => Err(failure),
        });
    }
    let known = known_skus(db, events, &staged).await?;
    let mut planned = Vec::with_capacity(events.len());
    for (i, (event, staged)) in events.iter().zip(staged).enumerate() {
        yield_every(i).await;
        planned.push(match staged {
            Ok(Staged::Done(done)) => Ok(done),
            Ok(Staged::Parsed(parsed)) => build(db, event, parsed, &known, batch).await,
            Err(failure) => Err(failure),
        });
    }
    Ok(planned)
}

/// Planning is mostly CPU work with few awaits: every few events it lets
/// the runtime's other tasks (requests waiting for acknowledgements) run.
async fn yield_every(i: usize) {
    if i % 8 == 7 {
        tokio::task::yield_now().await;
    }
}

/// The raw bodies of `events`, each checked against its checksum.
async fn read_bodies(
    pipeline: &Pipeline,
    events: &[inbound_event::Model],
) -> Vec<Result<Vec<u8>, Failure>> {
    let keys: Vec<String> = events.iter().map(|e| e.blob_key.clone()).collect();
    let bodies = pipeline.blobs.get_many(&keys).await;
    bodies
        .into_iter()
        .zip(events)
        .map(|(body, event)| {
            let body =
                body.map_err(|e| Failure::Processing(format!("raw payload unreadable: {e}")))?;
            if hex::encode(Sha256::digest(&body)) != event.body_sha256 {
                return Err(Failure::Processing(
                    "raw payload does not match its checksum".into(),
                ));
            }
            Ok(body)
        })
        .collect()
}

/// An event read, parsed and mapped to its location, before its SKUs are.
pub(super) struct ParsedEvent {
    location: Uuid,
    store_id: String,
    allow_new_items: bool,
    parsed: crate::domain::inbound::adapter::Parsed,
}

/// What the first stage made of an event.
enum Staged {
    /// Nothing more to look up (a payment, a partner event, a skip).
    Done(Planned),
    Parsed(ParsedEvent),
}

/// The SKUs an event's commands name.
fn skus_of(parsed: &crate::domain::inbound::adapter::Parsed) -> impl Iterator<Item = &String> {
    parsed.commands.iter().filter_map(|c| match c {
        SourceCommand::Item { sku, .. }
        | SourceCommand::Variant { sku, .. }
        | SourceCommand::Availability { sku, .. }
        | SourceCommand::StockDelta { sku, .. }
        | SourceCommand::StockLevel { sku, .. }
        | SourceCommand::Price { sku, .. } => Some(sku),
        SourceCommand::StoreStatus { .. } => None,
    })
}

/// Items mapped to the SKUs of every parsed event, by (merchant,
/// provider, SKU): one query per provider account and 500 SKUs.
async fn known_skus<C: ConnectionTrait>(
    db: &C,
    events: &[inbound_event::Model],
    staged: &[Result<Staged, Failure>],
) -> Result<HashMap<(Uuid, String, String), Uuid>, sea_orm::DbErr> {
    let mut wanted: HashMap<(Uuid, String), std::collections::BTreeSet<String>> = HashMap::new();
    for (event, staged) in events.iter().zip(staged) {
        if let Ok(Staged::Parsed(p)) = staged {
            wanted
                .entry((event.merchant_id, event.provider.clone()))
                .or_default()
                .extend(skus_of(&p.parsed).cloned());
        }
    }
    let mut known = HashMap::new();
    for ((merchant, provider), skus) in wanted {
        let skus: Vec<String> = skus.into_iter().collect();
        for chunk in skus.chunks(500) {
            let rows = item_mapping::Entity::find()
                .filter(item_mapping::Column::MerchantId.eq(merchant))
                .filter(item_mapping::Column::Provider.eq(provider.clone()))
                .filter(item_mapping::Column::ProviderSku.is_in(chunk.to_vec()))
                .all(db)
                .await?;
            for m in rows {
                known.insert((merchant, provider.clone(), m.provider_sku), m.item_id);
            }
        }
    }
    Ok(known)
}

/// First stage: the adapter (or script) parses the body; the connection
/// and the store mapping are looked up.
async fn stage<C: ConnectionTrait>(
    db: &C,
    pipeline: &Pipeline,
    event: &inbound_event::Model,
    body: Vec<u8>,
    batch: &mut Batch,
) -> Result<Staged, Failure> {
    let processing = |e: &dyn std::fmt::Display| Failure::Processing(e.to_string());
    if event.family == crate::domain::payments::FAMILY {
        use crate::domain::payments::notify::{self, Problem};
        return match notify::read(db, &event.provider, &body).await {
            Ok(settlement) => Ok(Staged::Done(Planned::Payment(settlement))),
            Err(Problem::Mapping(r)) => Err(Failure::Mapping(r)),
            Err(Problem::Validation(r)) => Err(Failure::Validation(r)),
        };
    }
    if event.family == PARTNER_FAMILY {
        let envelope = crate::domain::partner_webhooks::Envelope::parse(&body)
            .map_err(|e| Failure::Validation(e.to_string()))?;
        return Ok(Staged::Done(Planned::Forward {
            install_id: event.connection_id,
            payload: json!({"type": "PartnerEvent", "integration": event.provider,
                "install_id": event.connection_id, "event_id": envelope.event_id,
                "event_type": envelope.kind, "data": envelope.data}),
        }));
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
    let connection = match batch.connections.get(&event.connection_id) {
        Some(known) => known.clone(),
        None => {
            let found = provider_connection::Entity::find_by_id(event.connection_id)
                .one(db)
                .await
                .map_err(|e| processing(&e))?;
            batch.connections.insert(event.connection_id, found.clone());
            found
        }
    }
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
        Ok(Transformed::Skip(reason)) => return Ok(Staged::Done(Planned::Skip(reason))),
        Err(e @ TransformFailure::Malformed(_)) => return Err(Failure::Validation(e.to_string())),
        Err(e) => return Err(Failure::Processing(e.to_string())),
    };
    let store_id = parsed
        .store
        .clone()
        .ok_or_else(|| Failure::Validation("the delivery names no store".into()))?;
    let store_key = (event.merchant_id, event.provider.clone(), store_id.clone());
    let location = match batch.stores.get(&store_key) {
        Some(known) => *known,
        None => {
            let found = store_mapping::Entity::find()
                .filter(store_mapping::Column::MerchantId.eq(event.merchant_id))
                .filter(store_mapping::Column::Provider.eq(event.provider.clone()))
                .filter(store_mapping::Column::ProviderStoreId.eq(store_id.clone()))
                .one(db)
                .await
                .map_err(|e| processing(&e))?
                .map(|m| m.location_id);
            batch.stores.insert(store_key, found);
            found
        }
    }
    .ok_or_else(|| {
        Failure::Mapping(format!(
            "store {store_id:?} of {} is not mapped to a location",
            event.provider
        ))
    })?;
    Ok(Staged::Parsed(ParsedEvent {
        location,
        store_id,
        allow_new_items: connection.allow_new_items,
        parsed,
    }))
}

/// Second stage: SKUs and variants mapped (or created), commands validated
/// into canonical form.
async fn build<C: ConnectionTrait>(
    db: &C,
    event: &inbound_event::Model,
    staged: ParsedEvent,
    known: &HashMap<(Uuid, String, String), Uuid>,
    batch: &mut Batch,
) -> Result<Planned, Failure> {
    let ParsedEvent {
        location,
        store_id,
        allow_new_items,
        parsed,
    } = staged;
    let created_in_batch = &mut batch.created;
    let processing = |e: &dyn std::fmt::Display| Failure::Processing(e.to_string());
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
    let mut items: HashMap<String, Uuid> = skus_of(&parsed)
        .filter_map(|sku| {
            known
                .get(&(event.merchant_id, event.provider.clone(), sku.clone()))
                .map(|id| (sku.clone(), *id))
        })
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
                    None if allow_new_items => match created_in_batch.get(&batch_key) {
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
                    None if allow_new_items => {
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
