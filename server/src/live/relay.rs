//! The relay: every process reads new order and payment events from the
//! outbox (read-only, a few times a second) and publishes each once. On
//! PostgreSQL ids are handed out at insert but committed in any order, so
//! the relay keeps re-reading a short window behind the newest row and
//! publishes late arrivals too; the ids it already published are
//! remembered until the window passes them.
use std::collections::HashSet;
use std::time::Duration;

use app::domain::live::{self, Live, LiveEvent, LiveMsg};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use super::redis_bus::RedisBus;

/// How often the relay looks for new events.
const POLL: Duration = Duration::from_millis(100);
/// Rows read per query (a poll reads on while pages come back full).
const BATCH: u64 = 2000;
/// On PostgreSQL, how long after its insert a row may still commit (longer
/// than any transaction that writes the outbox, processor batches
/// included).
const SETTLE_SECS: i64 = 30;

/// Where the relay publishes.
pub enum Sink {
    /// This process's subscribers only (no Redis).
    Local(Live),
    /// Redis pub/sub: every process's subscribers.
    Redis(Box<RedisBus>),
}

impl Sink {
    async fn publish(&self, event: LiveEvent) -> Result<(), String> {
        match self {
            Sink::Local(live) => {
                live.deliver(LiveMsg::Event(std::sync::Arc::new(event)));
                Ok(())
            }
            Sink::Redis(bus) => bus.publish_once(&event).await,
        }
    }
}

/// Spawns the relay of this process.
pub fn spawn(db: DatabaseConnection, sink: Sink) {
    tokio::spawn(async move {
        // A commit on PostgreSQL may land this much after its id was taken.
        let settle = if db.get_database_backend() == DbBackend::Postgres {
            time::Duration::seconds(SETTLE_SECS)
        } else {
            time::Duration::ZERO
        };
        let mut low = loop {
            match live::newest(&db).await {
                Ok(id) => break id,
                Err(e) => {
                    tracing::warn!(error = %e, "live relay cannot read the outbox yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let mut published: HashSet<i64> = HashSet::new();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Everything past the settled mark, page by page.
            let mut rows = Vec::new();
            let mut from = low;
            loop {
                match live::after(&db, from, BATCH).await {
                    Ok(page) => {
                        let full = page.len() as u64 == BATCH;
                        if let Some((last, ..)) = page.last() {
                            from = *last;
                        }
                        rows.extend(page);
                        if !full {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live relay: outbox read failed");
                        break;
                    }
                }
            }
            let settled_before = entity::now() - settle;
            let mut advancing = true;
            for (id, created_at, event) in rows {
                if !published.contains(&id) {
                    let sent = match event {
                        Some(event) => sink.publish(event).await,
                        None => Ok(()),
                    };
                    match sent {
                        Ok(()) => {
                            published.insert(id);
                        }
                        Err(e) => {
                            // Tried again next poll; subscribers also catch
                            // up from the outbox.
                            tracing::warn!(outbox = id, error = %e, "live relay: publish failed");
                            advancing = false;
                        }
                    }
                }
                if advancing && created_at < settled_before && published.contains(&id) {
                    low = id;
                } else {
                    advancing = false;
                }
            }
            published.retain(|id| *id > low);
        }
    });
}
