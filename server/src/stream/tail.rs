//! `plugboard events tail`: follows one topic on JetStream and prints each
//! message as one JSON line (subject, stream sequence, message id, body).
use std::io::Write;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::StreamExt;

use super::nats::{stream_name, NatsHandle};
use super::{family, subject, Message};

/// What to follow.
pub struct Tail {
    pub topic: String,
    pub merchant: Option<uuid::Uuid>,
    /// From the start of the stream instead of new messages only.
    pub from_start: bool,
    /// Stop after this many messages.
    pub count: Option<u64>,
    /// Stop after this long without a message.
    pub idle: Option<Duration>,
}

/// Why tailing stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("{0}")]
    Connect(String),
    #[error("no stream {stream} for topic {topic} yet (nothing was relayed to it): {source}")]
    NoStream {
        stream: String,
        topic: String,
        #[source]
        source: async_nats::jetstream::context::GetStreamError,
    },
    #[error("cannot follow the stream: {0}")]
    Consumer(String),
    #[error("cannot write: {0}")]
    Write(#[from] std::io::Error),
}

/// Prints messages until `count` or `idle` says stop (or forever).
pub async fn run(url: &str, tail: Tail, out: &mut impl Write) -> Result<u64, TailError> {
    let nats = NatsHandle::connect_now(url)
        .await
        .map_err(TailError::Connect)?;
    let js = nats.jetstream();
    let name = stream_name(family(&tail.topic));
    let stream = js
        .get_stream(&name)
        .await
        .map_err(|source| TailError::NoStream {
            stream: name.clone(),
            topic: tail.topic.clone(),
            source,
        })?;
    let filter = match tail.merchant {
        Some(m) => subject(&tail.topic, m),
        None => format!("plugboard.{}.*", tail.topic),
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: filter,
            deliver_policy: if tail.from_start {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .map_err(|e| TailError::Consumer(e.to_string()))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| TailError::Consumer(e.to_string()))?;
    let mut seen = 0u64;
    loop {
        if tail.count.is_some_and(|c| seen >= c) {
            break;
        }
        let next = match tail.idle {
            Some(idle) => match tokio::time::timeout(idle, messages.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => messages.next().await,
        };
        let Some(next) = next else { break };
        let msg = next.map_err(|e| TailError::Consumer(e.to_string()))?;
        let sequence = msg.info().map(|i| i.stream_sequence).ok();
        let body: serde_json::Value = serde_json::from_slice::<Message>(&msg.payload)
            .ok()
            .and_then(|m| serde_json::to_value(m).ok())
            .unwrap_or_else(|| {
                serde_json::Value::String(String::from_utf8_lossy(&msg.payload).into_owned())
            });
        let msg_id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_string());
        let line = serde_json::json!({
            "subject": msg.subject.as_str(),
            "sequence": sequence,
            "msg_id": msg_id,
            "message": body,
        });
        writeln!(out, "{line}")?;
        out.flush()?;
        seen += 1;
    }
    Ok(seen)
}
