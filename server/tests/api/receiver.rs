//! Real HTTP receivers on loopback for outbound tests: they record every
//! request byte for byte and answer as told (fail, recover, body-level
//! errors). A fake Revel speaks Revel's cart-submit shape, including its
//! HTTP 200 with `{"status":"ERROR"}`.
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Captured {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// An answer: status and body.
pub type Reply = (u16, String);

#[derive(Default)]
struct Inner {
    captured: Vec<Captured>,
    /// Answers used first, in order.
    script: VecDeque<Reply>,
    /// The answer once the script is used up.
    otherwise: Option<Reply>,
}

/// A receiver listening on 127.0.0.1.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

async fn record(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let mut inner = inner.lock().unwrap();
    inner.captured.push(Captured {
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
    });
    let (status, body) = inner
        .script
        .pop_front()
        .or_else(|| inner.otherwise.clone())
        .unwrap_or((200, "{}".into()));
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
}

impl Receiver {
    /// Starts a receiver answering 200 `{}` to every POST on any path.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/{*path}", post(record))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, inner }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers these first, in order, then `otherwise`.
    pub fn script(&self, replies: &[(u16, &str)]) {
        self.inner.lock().unwrap().script =
            replies.iter().map(|(s, b)| (*s, b.to_string())).collect();
    }

    /// The answer after the script.
    pub fn otherwise(&self, status: u16, body: &str) {
        self.inner.lock().unwrap().otherwise = Some((status, body.to_string()));
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.inner.lock().unwrap().captured.clone()
    }

    /// Waits until `n` requests arrived (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Captured> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.captured();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} requests, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
