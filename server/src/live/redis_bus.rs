//! Redis pub/sub for the live board: the relays publish each event once on
//! `order:channel:{store_id}` (a `SET NX` per outbox id keeps several
//! processes' relays from publishing it twice), and every process
//! subscribes to `order:channel:*` and hands what arrives to its own
//! subscribers. After the subscription reconnects, subscribers are told to
//! catch up from the outbox.
use std::time::Duration;

use app::domain::live::{self, Live, LiveEvent, LiveMsg};
use futures::StreamExt;
use redis::aio::ConnectionManager;

/// How long a published id is remembered (longer than any relay lag).
const REMEMBER_SECS: u64 = 600;

#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    conn: ConnectionManager,
}

impl RedisBus {
    /// Connects (and checks the server answers).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new(client.clone()),
        )
        .await
        .map_err(|_| "Redis did not answer within 5 s".to_string())?
        .map_err(|e| format!("cannot connect to Redis: {e}"))?;
        Ok(RedisBus { client, conn })
    }

    /// Publishes `event` unless another relay already did.
    pub async fn publish_once(&self, event: &LiveEvent) -> Result<(), String> {
        let mut conn = self.conn.clone();
        // Outbox ids restart per database; the store id does not.
        let marker = format!("plugboard:live:published:{}:{}", event.store_id, event.id);
        let first: Option<String> = redis::cmd("SET")
            .arg(&marker)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(REMEMBER_SECS)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if first.is_none() {
            return Ok(());
        }
        let payload = serde_json::to_string(event).map_err(|e| e.to_string())?;
        let published = redis::cmd("PUBLISH")
            .arg(live::channel(event.store_id))
            .arg(payload)
            .query_async::<i64>(&mut conn)
            .await;
        if let Err(e) = published {
            // Not published after all: let the next try (this relay's or
            // another's) publish it.
            let _ = redis::cmd("DEL")
                .arg(&marker)
                .query_async::<i64>(&mut conn)
                .await;
            return Err(e.to_string());
        }
        Ok(())
    }

    /// Subscribes to every store channel for this process, reconnecting
    /// after errors.
    pub fn spawn_subscriber(&self, live: Live) {
        let client = self.client.clone();
        tokio::spawn(async move {
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if let Err(e) = pubsub.psubscribe("order:channel:*").await {
                            tracing::warn!(error = %e, "live board: Redis subscribe failed");
                        } else {
                            tracing::info!("live board: subscribed to Redis order channels");
                            live.deliver(LiveMsg::Resync);
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                match serde_json::from_str::<LiveEvent>(&payload) {
                                    Ok(event) => live.deliver(LiveMsg::Event(event.into())),
                                    Err(e) => {
                                        tracing::warn!(error = %e, "live board: unreadable Redis message")
                                    }
                                }
                            }
                            tracing::warn!("live board: Redis subscription ended; reconnecting");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live board: cannot reach Redis; retrying")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}
