//! Stand-ins for the payment providers Plugboard cannot reach from a test
//! or a laptop: they speak each provider's documented request and answer
//! shapes (including their errors), can be told to fail, answer 5xx or
//! never answer, and send signed paid notifications on request — the
//! development payment simulator. Tests start them on loopback ports; in
//! the development configuration the server mounts them under `/_fakes/`.
//! Never mounted in production.

pub mod midtrans;
pub mod xendit;

use axum::http::HeaderMap;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// How a fake answers charge requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// As documented.
    #[default]
    Ok,
    /// HTTP 500 / 503 in the provider's error shape.
    ServerError,
    /// Accepts the connection and never answers.
    Timeout,
}

/// A request a fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

pub(crate) fn record(headers: &HeaderMap, body: &[u8]) -> Recorded {
    Recorded {
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
    }
}

/// The user name of a Basic `Authorization` header.
pub(crate) fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(
        text.split_once(':')
            .map(|(u, _)| u)
            .unwrap_or(&text)
            .to_string(),
    )
}

/// A fake QRIS payload (the EMVCo shape, not payable anywhere).
pub(crate) fn qr_string(reference: &str, amount: i64) -> String {
    let tail: String = reference
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let merchant = format!("PLUGBOARDFAKE{tail}");
    format!(
        "00020101021226610014COM.PLUGBOARD.WWW0118{merchant}5204581253033605405{amount}5802ID5913PLUGBOARD DEV6007JAKARTA6304ABCD"
    )
}

/// Never answers (the client's timeout fires first).
pub(crate) async fn hang() {
    tokio::time::sleep(std::time::Duration::from_secs(300)).await;
}
