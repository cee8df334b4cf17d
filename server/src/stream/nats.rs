//! NATS JetStream as the event stream. One stream per topic family
//! (`PLUGBOARD_CATALOG` holds `plugboard.catalog.>`, `PLUGBOARD_STORE_STATUS`
//! holds `plugboard.store-status.>`, …), created on first use; every message
//! carries its outbox id as `Nats-Msg-Id`, and each stream's duplicate
//! window is longer than any relay retry, so a batch published again after
//! a crash is stored once.
use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, context::Publish, stream};
use entity::outbox;
use tokio::sync::Mutex;

use super::{family, subject, EventStream, Message, StreamError};

/// JetStream forgets message ids after this long.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// A connection to NATS, shared by the relay, readiness and the CLI. It
/// reconnects by itself, with backoff, for as long as the process runs.
#[derive(Clone)]
pub struct NatsHandle {
    pub client: async_nats::Client,
}

impl NatsHandle {
    /// Connects in the background: a broker that is down at start-up does
    /// not stop the server (the outbox waits; readiness says so).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = async_nats::ConnectOptions::new()
            .name("plugboard")
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .connect(url)
            .await
            .map_err(|e| format!("nats_url: {e}"))?;
        Ok(NatsHandle { client })
    }

    /// Connects and waits until the broker answers (the CLI).
    pub async fn connect_now(url: &str) -> Result<Self, String> {
        let client = async_nats::ConnectOptions::new()
            .name("plugboard-cli")
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to NATS at nats_url: {e}"))?;
        Ok(NatsHandle { client })
    }

    /// Whether the broker answers now.
    pub async fn check(&self) -> Result<(), String> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => {
                self.client.flush().await.map_err(|e| e.to_string())
            }
            state => Err(format!("not connected ({state})")),
        }
    }

    pub fn jetstream(&self) -> jetstream::Context {
        jetstream::new(self.client.clone())
    }
}

/// A message's `Nats-Msg-Id`: the merchant and the outbox id. Outbox ids
/// start again in every database, so the merchant keeps two deployments
/// (or two test databases) sharing one NATS from dropping each other's
/// messages as repeats, while a relay publishing a row again is still
/// recognised.
pub fn message_id(row: &outbox::Model) -> String {
    format!("{}:{}", row.merchant_id, row.id)
}

/// A family's stream name: `PLUGBOARD_` and the family in capitals, with
/// `-` as `_` (stream names may not hold dots or wildcards).
pub fn stream_name(family: &str) -> String {
    let name: String = family
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PLUGBOARD_{name}")
}

/// Publishes outbox rows to JetStream.
pub struct JetStream {
    js: jetstream::Context,
    /// Families whose stream exists (checked once per process).
    ready: Mutex<HashSet<String>>,
}

impl JetStream {
    pub fn new(handle: &NatsHandle) -> Self {
        JetStream {
            js: handle.jetstream(),
            ready: Mutex::new(HashSet::new()),
        }
    }

    /// Creates the family's stream unless it exists.
    async fn ensure_stream(&self, family: &str) -> Result<(), StreamError> {
        let mut ready = self.ready.lock().await;
        if ready.contains(family) {
            return Ok(());
        }
        let config = stream::Config {
            name: stream_name(family),
            subjects: vec![format!("plugboard.{family}.>")],
            duplicate_window: DUPLICATE_WINDOW,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        self.js.get_or_create_stream(config).await.map_err(|e| {
            StreamError::Unreachable(format!("stream {}: {e}", stream_name(family)))
        })?;
        ready.insert(family.to_string());
        Ok(())
    }
}

#[async_trait::async_trait]
impl EventStream for JetStream {
    fn backend(&self) -> &'static str {
        "jetstream"
    }

    async fn publish(&self, rows: &[outbox::Model]) -> Result<(), StreamError> {
        for f in rows
            .iter()
            .map(|r| family(&r.topic))
            .collect::<HashSet<_>>()
        {
            self.ensure_stream(f).await?;
        }
        // Every message goes out before the first acknowledgement is
        // awaited: one round trip per batch, not per row.
        let mut acks = Vec::with_capacity(rows.len());
        for row in rows {
            let body = serde_json::to_vec(&Message::from(row))
                .map_err(|e| StreamError::Refused(e.to_string()))?;
            let publish = Publish::build()
                .payload(body.into())
                .message_id(message_id(row))
                .header("Plugboard-Topic", row.topic.as_str())
                .header("Plugboard-Kind", row.kind.as_str());
            let ack = self
                .js
                .send_publish(subject(&row.topic, row.merchant_id), publish)
                .await
                .map_err(|e| StreamError::Unreachable(e.to_string()))?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await
                .map_err(|e| StreamError::Unreachable(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stream_name;

    #[test]
    fn stream_names_are_valid_jetstream_names() {
        assert_eq!(stream_name("catalog"), "PLUGBOARD_CATALOG");
        assert_eq!(stream_name("store-status"), "PLUGBOARD_STORE_STATUS");
        assert_eq!(stream_name("order_dispatch"), "PLUGBOARD_ORDER_DISPATCH");
    }
}
