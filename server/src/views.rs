//! Redis-backed views: each location's item availability and whether the
//! store is open, kept current from the canonical events (`catalog.events`,
//! `inventory.events`, `store-status.events`) by the outbox relay's
//! `redis-views` consumer, served by `GET /v1/locations/{id}/availability`
//! and rebuilt from the database by `plugboard views rebuild`.
//!
//! Keys: `plugboard:views:<location>:items` (a hash, item id → `1` or `0`)
//! and `plugboard:views:<location>:store` (JSON `{"open","reason"}`).
//! Without `redis_url` the same answer is read from the database.
use std::collections::BTreeMap;
use std::time::Duration;

use entity::{catalog_item, outbox, outbox_cursor, store_status};
use redis::aio::ConnectionManager;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::stream::relay::Consumer;
use crate::stream::{EventStream, StreamError};

/// The relay consumer that keeps the views current.
pub const VIEWS: Consumer = Consumer {
    name: "redis-views",
    topics: &["catalog.events", "inventory.events", "store-status.events"],
};

/// A location's availability view.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct Availability {
    pub location_id: Uuid,
    /// `redis`, or `database` when Redis is not configured.
    pub source: &'static str,
    /// Whether the store is open, as its POS last said; absent: never said.
    pub open: Option<bool>,
    pub closed_reason: Option<String>,
    /// Item id → available.
    pub items: BTreeMap<Uuid, bool>,
}

/// Why a view could not be read or rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The views in Redis.
#[derive(Clone)]
pub struct RedisViews {
    conn: ConnectionManager,
}

fn items_key(location: Uuid) -> String {
    format!("plugboard:views:{location}:items")
}

fn store_key(location: Uuid) -> String {
    format!("plugboard:views:{location}:store")
}

fn uuid_of(payload: &Value, field: &str) -> Option<Uuid> {
    payload.get(field)?.as_str()?.parse().ok()
}

impl RedisViews {
    /// Connects (reconnecting by itself afterwards).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
        let conn = tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new(client))
            .await
            .map_err(|_| "Redis did not answer within 5 s".to_string())?
            .map_err(|e| format!("cannot connect to Redis: {e}"))?;
        Ok(RedisViews { conn })
    }

    /// Adds one outbox row's effect to `pipe`, if it changes a view.
    fn apply(pipe: &mut redis::Pipeline, row: &outbox::Model) {
        let p = &row.payload;
        let Some(location) = uuid_of(p, "location_id") else {
            return;
        };
        match p.get("type").and_then(Value::as_str) {
            Some("CatalogItemUpserted") | Some("AvailabilityChanged") => {
                let (Some(item), Some(available)) = (
                    uuid_of(p, "item_id"),
                    p.get("available").and_then(Value::as_bool),
                ) else {
                    return;
                };
                pipe.hset(items_key(location), item.to_string(), u8::from(available))
                    .ignore();
            }
            Some("StoreStatusChanged") => {
                let state = serde_json::json!({"open": p.get("open"), "reason": p.get("reason")});
                pipe.set(store_key(location), state.to_string()).ignore();
            }
            _ => {}
        }
    }

    /// One location's view.
    pub async fn read(&self, location: Uuid) -> Result<Availability, ViewError> {
        let mut conn = self.conn.clone();
        let (items, store): (BTreeMap<String, u8>, Option<String>) = redis::pipe()
            .hgetall(items_key(location))
            .get(store_key(location))
            .query_async(&mut conn)
            .await?;
        let store: Option<Value> = store.and_then(|s| serde_json::from_str(&s).ok());
        Ok(Availability {
            location_id: location,
            source: "redis",
            open: store.as_ref().and_then(|s| s["open"].as_bool()),
            closed_reason: store
                .as_ref()
                .and_then(|s| s["reason"].as_str().map(str::to_string)),
            items: items
                .into_iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v == 1)))
                .collect(),
        })
    }

    /// Rebuilds every view from the database: the cursor moves to the
    /// newest outbox row first, so what commits meanwhile is applied on
    /// top by the relay (in order, newest last). Answers the locations
    /// rebuilt.
    pub async fn rebuild(&self, db: &DatabaseConnection) -> Result<usize, ViewError> {
        let txn = db.begin().await?;
        let newest: Option<i64> = outbox::Entity::find()
            .select_only()
            .column_as(outbox::Column::Id.max(), "max")
            .into_tuple::<Option<i64>>()
            .one(&txn)
            .await?
            .flatten();
        outbox_cursor::Entity::insert(outbox_cursor::ActiveModel {
            consumer: Set(VIEWS.name.into()),
            last_id: Set(newest.unwrap_or(0)),
            updated_at: Set(entity::now()),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(outbox_cursor::Column::Consumer)
                .update_columns([
                    outbox_cursor::Column::LastId,
                    outbox_cursor::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let items = catalog_item::Entity::find().all(&txn).await?;
        let stores = store_status::Entity::find().all(&txn).await?;
        let mut by_location: BTreeMap<Uuid, Vec<(String, u8)>> = BTreeMap::new();
        for item in &items {
            by_location
                .entry(item.location_id)
                .or_default()
                .push((item.item_id.to_string(), u8::from(item.available)));
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut locations: std::collections::BTreeSet<Uuid> = by_location.keys().copied().collect();
        locations.extend(stores.iter().map(|s| s.location_id));
        for location in &locations {
            pipe.del(items_key(*location)).ignore();
            pipe.del(store_key(*location)).ignore();
        }
        for (location, fields) in &by_location {
            pipe.hset_multiple(items_key(*location), fields).ignore();
        }
        for s in &stores {
            let state = serde_json::json!({"open": s.open, "reason": s.reason});
            pipe.set(store_key(s.location_id), state.to_string())
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        txn.commit().await?;
        Ok(locations.len())
    }
}

#[async_trait::async_trait]
impl EventStream for RedisViews {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, rows: &[outbox::Model]) -> Result<(), StreamError> {
        let mut pipe = redis::pipe();
        for row in rows {
            Self::apply(&mut pipe, row);
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| StreamError::Unreachable(e.to_string()))
    }
}

/// The view from the database (no Redis configured).
pub async fn from_database(
    db: &DatabaseConnection,
    location: Uuid,
) -> Result<Availability, ViewError> {
    let items = catalog_item::Entity::find()
        .filter(catalog_item::Column::LocationId.eq(location))
        .all(db)
        .await?;
    let store = store_status::Entity::find_by_id(location).one(db).await?;
    Ok(Availability {
        location_id: location,
        source: "database",
        open: store.as_ref().map(|s| s.open),
        closed_reason: store.and_then(|s| s.reason),
        items: items
            .into_iter()
            .map(|i| (i.item_id, i.available))
            .collect(),
    })
}

/// What the API handler reads from.
#[derive(Clone, Default)]
pub struct Views(pub Option<RedisViews>);
