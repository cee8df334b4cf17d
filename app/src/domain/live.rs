//! The live board's events: every order status change and payment event
//! is published on its store's channel, `order:channel:{store_id}` (seed
//! 003). The outbox is the source: a relay in the server reads new order
//! and payment events from it and publishes them — to this process's
//! subscribers, or through Redis pub/sub to every process's. Each event
//! carries its outbox id, so a subscriber that lost its connection asks
//! for what came after the last id it saw and misses nothing.
use std::sync::Arc;

use entity::outbox;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::error::AppResult;

/// Outbox topics the board shows.
pub const TOPICS: [&str; 2] = [
    crate::domain::orders::status::TOPIC,
    crate::domain::payments::TOPIC,
];

/// The pub/sub channel of a store.
pub fn channel(store_id: Uuid) -> String {
    format!("order:channel:{store_id}")
}

/// One event on a store's channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// The outbox id: the SSE event id, and the resume point.
    pub id: i64,
    pub merchant_id: Uuid,
    pub store_id: Uuid,
    /// `order.paid`, `payment.created`, …
    pub event: String,
    pub data: Value,
}

impl LiveEvent {
    /// The board's view of an outbox row, if it is an order or payment
    /// event of a store.
    pub fn from_outbox(row: &outbox::Model) -> Option<Self> {
        if !TOPICS.contains(&row.topic.as_str()) {
            return None;
        }
        let store_id = row
            .payload
            .get("outletId")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())?;
        let event = row
            .payload
            .get("event")
            .and_then(Value::as_str)?
            .to_string();
        Some(LiveEvent {
            id: row.id,
            merchant_id: row.merchant_id,
            store_id,
            event,
            data: row.payload.clone(),
        })
    }
}

/// What subscribers of this process receive.
#[derive(Clone, Debug)]
pub enum LiveMsg {
    Event(Arc<LiveEvent>),
    /// Events may have been missed (the Redis subscription reconnected):
    /// subscribers catch up from the outbox.
    Resync,
}

/// This process's subscriptions; the server's relay feeds them.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<LiveMsg>,
    /// `local` or `redis`, for health and logs.
    pub backend: &'static str,
}

impl Live {
    pub fn new(backend: &'static str) -> Self {
        let (sender, _) = broadcast::channel(4096);
        Live { sender, backend }
    }

    /// Hands a message to every subscriber of this process.
    pub fn deliver(&self, msg: LiveMsg) {
        // No subscriber is not an error.
        let _ = self.sender.send(msg);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveMsg> {
        self.sender.subscribe()
    }
}

impl Default for Live {
    fn default() -> Self {
        Live::new("local")
    }
}

/// A store's events after outbox id `after`, oldest first (catch-up after
/// a reconnect), from at most `limit` outbox rows; with the last row's id
/// when there may be more.
pub async fn since<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    store_id: Uuid,
    after: i64,
    limit: u64,
) -> AppResult<(Vec<LiveEvent>, Option<i64>)> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Topic.is_in(TOPICS))
        .filter(outbox::Column::Id.gt(after))
        .filter(outbox::Column::MerchantId.eq(merchant_id))
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let more = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let events = rows
        .iter()
        .filter_map(LiveEvent::from_outbox)
        .filter(|e| e.store_id == store_id)
        .collect();
    Ok((events, more))
}

/// The newest outbox id of the board's topics (where a relay starts).
pub async fn newest<C: ConnectionTrait>(db: &C) -> AppResult<i64> {
    Ok(outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::Topic.is_in(TOPICS))
        .order_by_desc(outbox::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// Board events after `after` (any store), oldest first, for the relay.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: u64,
) -> AppResult<Vec<(i64, time::OffsetDateTime, Option<LiveEvent>)>> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Topic.is_in(TOPICS))
        .filter(outbox::Column::Id.gt(after))
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.id, r.created_at, LiveEvent::from_outbox(r)))
        .collect())
}
