//! Stand-ins for the payment providers Plugboard cannot reach from a test
//! or a laptop: they speak each provider's documented request and answer
//! shapes (including their errors), can be told to fail, answer 5xx or
//! never answer, and send signed paid notifications on request — the
//! development payment simulator. Tests start them on loopback ports; in
//! the development configuration the server mounts them under `/_fakes/`.
//! Never mounted in production.

pub mod midtrans;
pub mod xendit;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
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

/// What every fake shares: how it answers, and what it received.
#[derive(Default)]
pub struct Controls {
    mode: Mutex<Mode>,
    requests: Mutex<Vec<Recorded>>,
}

impl Controls {
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Every charge request received, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records a charge request and answers it as the mode says: `None`
    /// means "go on as documented"; a server error is `server_error`.
    pub(crate) async fn intercept(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        server_error: impl FnOnce() -> Response,
    ) -> Option<Response> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record(headers, body));
        let mode = *self.mode.lock().unwrap_or_else(|e| e.into_inner());
        match mode {
            Mode::Ok => None,
            Mode::ServerError => Some(server_error()),
            Mode::Timeout => {
                hang().await;
                Some(StatusCode::GATEWAY_TIMEOUT.into_response())
            }
        }
    }

    /// `POST /_fake/mode {"mode": "ok" | "server_error" | "timeout"}`.
    pub(crate) fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_fake/mode", post(mode_route))
            .with_state(self.clone())
    }
}

#[derive(Deserialize)]
struct ModeRequest {
    mode: Mode,
}

async fn mode_route(
    State(controls): State<Arc<Controls>>,
    Json(req): Json<ModeRequest>,
) -> Response {
    controls.set_mode(req.mode);
    Json(serde_json::json!({"mode": req.mode})).into_response()
}

fn record(headers: &HeaderMap, body: &[u8]) -> Recorded {
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
async fn hang() {
    tokio::time::sleep(std::time::Duration::from_secs(300)).await;
}
