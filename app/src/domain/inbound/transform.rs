//! Body → source commands, one way for every adapter: its own parser, or,
//! for a scripted adapter, the active JS transformer of (provider, topic).
//! The gateway runs it before acknowledging a scripted delivery (so a
//! failing script answers 5xx and the vendor retries) and the processor
//! runs it again from the stored raw body (scripts are deterministic: no
//! clock, no randomness), so replays pick up a fixed script.
use serde_json::{json, Value};

use super::adapter::{Parsed, ProviderAdapter, Topic};
use crate::domain::scripts::{Outcome, TransformError, Transformers};

/// What became of a body.
#[derive(Clone, Debug, PartialEq)]
pub enum Transformed {
    Parsed(Parsed),
    /// The script's skip sentinel, with its reason.
    Skip(String),
}

/// Why a body gave no commands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransformFailure {
    /// Not the provider's documented shape (a validation failure).
    #[error("{0}")]
    Malformed(String),
    /// The script failed, is missing, or broke its output contract (a
    /// processing failure: the vendor should retry).
    #[error("{0}")]
    Script(TransformError),
    /// The script's output is not `{store, commands}` or the skip sentinel.
    #[error("{script}: the output breaks the contract: {error}")]
    Contract {
        /// provider/topic version
        script: String,
        error: String,
    },
}

/// The script's input: everything it may look at (docs/scripts.md).
pub fn script_input(
    provider: &str,
    topic: Topic,
    account: Option<&str>,
    headers: &Value,
    body: &[u8],
) -> Value {
    let payload = serde_json::from_slice::<Value>(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    json!({
        "provider": provider,
        "topic": topic.as_str(),
        "account": account,
        "headers": headers,
        "payload": payload,
    })
}

/// Turns a body into source commands.
pub async fn transform(
    adapter: &dyn ProviderAdapter,
    transformers: &Transformers,
    topic: Topic,
    input: impl FnOnce() -> Value,
    body: &[u8],
) -> Result<Transformed, TransformFailure> {
    if !adapter.scripted() {
        return adapter
            .parse(topic, body)
            .map(Transformed::Parsed)
            .map_err(|e| TransformFailure::Malformed(e.to_string()));
    }
    let (outcome, version) = transformers
        .run(adapter.name(), topic.as_str(), &input())
        .await
        .map_err(TransformFailure::Script)?;
    match outcome {
        Outcome::Skip { reason } => Ok(Transformed::Skip(reason)),
        Outcome::Output(value) => serde_json::from_value::<Parsed>(value)
            .map(Transformed::Parsed)
            .map_err(|e| TransformFailure::Contract {
                script: format!("{}/{} {version}", adapter.name(), topic.as_str()),
                error: e.to_string(),
            }),
    }
}
