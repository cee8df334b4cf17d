//! Writing a plan: its canonical commands and events go to the outbox and
//! its changes to the read models, in the caller's transaction.
use entity::{
    catalog_item, catalog_variant, inbound_event, item_mapping, outbox, store_status,
    variant_mapping,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Value};

use super::plan::{Canonical, Plan};
use crate::error::AppResult;

pub(super) async fn emit<C: ConnectionTrait>(
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
pub(super) struct Bulk {
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

    pub(super) async fn flush<C: ConnectionTrait>(&mut self, db: &C) -> AppResult<()> {
        // Rows go in key order: two replicas writing overlapping rows then
        // take their row locks in the same order, and one waits for the
        // other instead of both deadlocking.
        let mut mappings = std::mem::take(&mut self.mappings);
        mappings.sort_by(|a, b| mapping_key(a).cmp(&mapping_key(b)));
        for chunk in mappings.chunks(CHUNK) {
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
        // One row per (location, item), the conflict key: PostgreSQL
        // refuses to upsert a row twice in one statement, and the last word
        // wins anyway. (The same item may be listed at several locations
        // by events written together.)
        let mut items = std::mem::take(&mut self.items);
        let mut seen = std::collections::HashSet::new();
        items.reverse();
        items.retain(|i| match (&i.location_id, &i.item_id) {
            (sea_orm::ActiveValue::Set(location), sea_orm::ActiveValue::Set(id)) => {
                seen.insert((*location, *id))
            }
            _ => true,
        });
        items.sort_by(|a, b| item_key(a).cmp(&item_key(b)));
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

/// The value of a column that is set.
fn value<T: Into<sea_orm::Value>>(v: &sea_orm::ActiveValue<T>) -> Option<&T> {
    match v {
        sea_orm::ActiveValue::Set(x) | sea_orm::ActiveValue::Unchanged(x) => Some(x),
        sea_orm::ActiveValue::NotSet => None,
    }
}

/// The conflict key of a new item mapping, for ordering.
fn mapping_key(
    m: &item_mapping::ActiveModel,
) -> (Option<&uuid::Uuid>, Option<&String>, Option<&String>) {
    (
        value(&m.merchant_id),
        value(&m.provider),
        value(&m.provider_sku),
    )
}

/// The conflict key of an item upsert, for ordering.
fn item_key(i: &catalog_item::ActiveModel) -> (Option<&uuid::Uuid>, Option<&uuid::Uuid>) {
    (value(&i.location_id), value(&i.item_id))
}

pub(super) async fn apply<C: ConnectionTrait>(
    db: &C,
    event: &inbound_event::Model,
    plan: Plan,
) -> AppResult<()> {
    let mut bulk = Bulk::default();
    apply_into(db, &mut bulk, event, plan).await?;
    bulk.flush(db).await
}

/// Applies a plan, leaving its item upserts, new mappings and outbox rows
/// in `bulk` for one flush with those of other events.
pub(super) async fn apply_into<C: ConnectionTrait>(
    db: &C,
    bulk: &mut Bulk,
    event: &inbound_event::Model,
    plan: Plan,
) -> AppResult<()> {
    let location = plan.location;
    let now = entity::now();
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
                    json!({"type": "CatalogItemUpserted", "item_id": item_id, "location_id": location, "available": available}));
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
    Ok(())
}
