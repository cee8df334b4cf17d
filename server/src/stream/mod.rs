//! The event stream: canonical commands and events leave the outbox for a
//! message broker, behind one trait with one module per backend.
//!
//! - No broker (the embedded default): the outbox table is the stream;
//!   in-process consumers (capability dispatcher, live board) read it.
//! - [`nats::JetStream`] (`nats_url`): the [`relay`] publishes every outbox
//!   row to NATS JetStream, one stream per topic family, subject
//!   `plugboard.<topic>.<merchant>`, the outbox id as `Nats-Msg-Id` so
//!   JetStream drops what a crashed relay publishes twice.
//!
//! Design and guarantees: docs/scaling.md, "Event stream".
pub mod nats;
pub mod relay;
pub mod tail;

use entity::outbox;
use serde::Serialize;

/// Why a batch could not be published (the relay retries it).
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the broker is unreachable: {0}")]
    Unreachable(String),
    #[error("the broker refused the message: {0}")]
    Refused(String),
}

/// A broker the relay publishes to.
#[async_trait::async_trait]
pub trait EventStream: Send + Sync {
    /// `jetstream`, for logs and readiness.
    fn backend(&self) -> &'static str;
    /// Publishes `rows` in order; returns once the broker has stored every
    /// one (or already had it).
    async fn publish(&self, rows: &[outbox::Model]) -> Result<(), StreamError>;
}

/// A topic's family: what comes before its first dot (`catalog` for
/// `catalog.commands`); each family is one stream.
pub fn family(topic: &str) -> &str {
    topic.split('.').next().unwrap_or(topic)
}

/// The subject an outbox row is published on.
pub fn subject(topic: &str, merchant: uuid::Uuid) -> String {
    format!("plugboard.{}.{merchant}", sanitize(topic))
}

/// Subject tokens may not hold spaces or wildcards; topics never do, but a
/// stray one must not break the stream.
fn sanitize(topic: &str) -> String {
    topic
        .chars()
        .map(|c| match c {
            ' ' | '*' | '>' | '\t' | '\r' | '\n' => '_',
            c => c,
        })
        .collect()
}

/// What a message carries: the outbox row, as JSON.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Message {
    /// The outbox id (also the `Nats-Msg-Id`).
    pub id: i64,
    pub topic: String,
    /// `command` or `event`.
    pub kind: String,
    pub merchant_id: uuid::Uuid,
    /// Partition key (item or location id).
    pub key: String,
    pub payload: serde_json::Value,
    pub source_event_id: Option<uuid::Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl From<&outbox::Model> for Message {
    fn from(row: &outbox::Model) -> Self {
        Message {
            id: row.id,
            topic: row.topic.clone(),
            kind: row.kind.clone(),
            merchant_id: row.merchant_id,
            key: row.key.clone(),
            payload: row.payload.clone(),
            source_event_id: row.source_event_id,
            created_at: row.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_topic_and_merchant() {
        let m = uuid::Uuid::nil();
        assert_eq!(
            subject("catalog.commands", m),
            format!("plugboard.catalog.commands.{m}")
        );
        assert_eq!(
            subject("store-status.events", m),
            format!("plugboard.store-status.events.{m}")
        );
        assert_eq!(subject("a b>", m), format!("plugboard.a_b_.{m}"));
        assert_eq!(family("store-status.events"), "store-status");
        assert_eq!(family("order_dispatch"), "order_dispatch");
    }
}
