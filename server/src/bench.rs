//! `plugboard bench inbound`: a load generator for the inbound gateway.
//!
//! It starts a real server (embedded SQLite in a fresh temporary folder) on
//! loopback, connects a `restopos` account through the JSON API, then posts
//! signed 1 KB menu webhooks over HTTP:
//! 1. closed loop, `concurrency` senders as fast as acknowledgements come;
//! 2. open loop at a fixed `rate`, latency measured from the scheduled send
//!    time (no coordinated omission);
//! 3. the same closed loop against a bare axum handler that only verifies
//!    the HMAC, for the ratio.
//!
//! Everything is bounded in time and count and only talks to 127.0.0.1.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::domain::inbound::verify::{self, Digest, Encoding};
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::config::Config;

/// Knobs of the run.
#[derive(Clone, Debug)]
pub struct InboundBench {
    pub seconds: u64,
    pub concurrency: usize,
    pub rate: u64,
    /// Closed loops with `wrk` as a separate load-generator process.
    pub wrk: bool,
    /// Acknowledge only (no processing in the server), as on an
    /// acknowledgement-only node.
    pub ack_only: bool,
    /// A PostgreSQL URL whose user may create databases: the run gets a
    /// database of its own there instead of the embedded SQLite file.
    pub database_url: Option<String>,
}

/// What went wrong while setting up or running.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("setup failed: {0}")]
    Setup(String),
}

pub(crate) fn setup_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(e.to_string())
}

/// Latencies and counts of one phase.
#[derive(Default)]
pub(crate) struct Phase {
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    pub(crate) elapsed: Duration,
    pub(crate) micros: Vec<u32>,
}

impl Phase {
    /// Adds a phase that ran at the same time (another sender group).
    pub(crate) fn merge(&mut self, other: Phase) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.micros.extend(other.micros);
        self.elapsed = self.elapsed.max(other.elapsed);
    }

    pub(crate) fn per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn pct(&mut self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        self.micros.sort_unstable();
        let i = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
        self.micros[i] as f64 / 1000.0
    }
}

pub(crate) struct Target {
    pub url: String,
    pub account: String,
    pub secret: String,
    /// The merchant's API base and token (to read the backlog), if any.
    pub api: Option<(String, String)>,
}

/// One signed webhook: event id, timestamp, signature, body.
pub(crate) struct Signed {
    pub event_id: String,
    pub ts: i64,
    pub signature: String,
    pub body: String,
}

impl Target {
    /// The `n`th webhook, about 1 KB (one item with a long name).
    pub(crate) fn signed(&self, n: u64) -> Signed {
        let body = format!(
            r#"{{"store_id":"bench-store","items":[{{"sku":"SKU-{}","name":"Item {n} {}","category":"Bench","price":"{}","currency":"IDR"}}]}}"#,
            n % 5000,
            "x".repeat(880),
            1000 + n % 5000,
        );
        let ts = entity::now().unix_timestamp();
        let mut msg = format!("{ts}.").into_bytes();
        msg.extend_from_slice(body.as_bytes());
        Signed {
            event_id: format!("bench-{n}"),
            ts,
            signature: verify::sign(Digest::Sha256, Encoding::Hex, self.secret.as_bytes(), &msg),
            body,
        }
    }

    fn request(&self, client: &reqwest::Client, n: u64) -> reqwest::RequestBuilder {
        let s = self.signed(n);
        client
            .post(&self.url)
            .header("X-Restopos-Account", &self.account)
            .header("X-Restopos-Timestamp", s.ts.to_string())
            .header("X-Restopos-Signature", s.signature)
            .header("X-Restopos-Event-Id", s.event_id)
            .body(s.body)
    }
}

/// Runs the benchmark and prints the figures.
pub async fn inbound(args: InboundBench) -> Result<(), BenchError> {
    let dir = std::env::temp_dir().join(format!("plugboard-bench-{}", uuid::Uuid::new_v4()));
    let result = run(&args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(args: &InboundBench, dir: &std::path::Path) -> Result<(), BenchError> {
    let mut config = Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        demo_data: false,
        log: "error".into(),
        inbound_processing: !args.ack_only,
        ..Config::default()
    };
    let postgres = args.database_url.as_deref();
    let database = crate::bench_database::use_engine(&mut config, postgres).await?;
    let result = measure(args, config).await;
    if let Some(database) = database {
        database.drop_it().await;
    }
    result
}

async fn measure(args: &InboundBench, config: Config) -> Result<(), BenchError> {
    let engine = crate::bench_database::engine_name(args.database_url.as_deref());
    let app = crate::startup::Application::build(config)
        .await
        .map_err(setup_err)?;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let target = connect(&base).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(setup_err)?;
    let duration = Duration::from_secs(args.seconds.max(1));

    println!(
        "Plugboard inbound benchmark — {engine}, loopback, 1 KB signed webhooks{}",
        if args.ack_only {
            ", acknowledgement only (no processing)"
        } else {
            ", processing on"
        }
    );
    println!(
        "closed loop: {} senders for {} s; open loop: {}/s for {} s",
        args.concurrency, args.seconds, args.rate, args.seconds
    );
    let target = Arc::new(target);
    if args.wrk {
        return with_wrk(&client, &target, args, duration).await;
    }
    let mut closed = closed_loop(&client, &target, args.concurrency, duration, 0).await;
    drain(&client, &target, args).await?;
    let mut open = open_loop_apart(&target, args.rate, duration, 10_000_000).await?;

    let bare = bare_server().await?;
    let mut bare_phase = closed_loop(&client, &Arc::new(bare), args.concurrency, duration, 0).await;

    println!();
    println!("| run | acknowledged | failed | per second | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for (name, phase) in [
        ("inbound, closed loop", &mut closed),
        ("inbound, open loop", &mut open),
        ("bare HMAC handler, closed loop", &mut bare_phase),
    ] {
        let (p50, p99) = (phase.pct(0.50), phase.pct(0.99));
        println!(
            "| {name} | {} | {} | {:.0} | {p50:.2} | {p99:.2} |",
            phase.ok,
            phase.failed,
            phase.per_sec()
        );
    }
    println!();
    println!(
        "durably acknowledged / bare handler = {:.2}",
        closed.per_sec() / bare_phase.per_sec()
    );
    Ok(())
}

/// The closed loops run by `wrk` (a separate process, so the generator
/// does not share this process's runtime), the open loop by this process.
async fn with_wrk(
    client: &reqwest::Client,
    target: &Arc<Target>,
    args: &InboundBench,
    duration: Duration,
) -> Result<(), BenchError> {
    let dir = tempfile_dir()?;
    let closed = crate::bench_wrk::run(target, &dir, args.concurrency, duration, 0)?;
    drain(client, target, args).await?;
    let mut open = open_loop_apart(target, args.rate, duration, 900_000_000).await?;
    let bare = bare_server().await?;
    let bare_phase = crate::bench_wrk::run(&bare, &dir, args.concurrency, duration, 0)?;
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!("| run | requests | non-2xx | per second | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for (name, r) in [
        ("inbound, closed loop (wrk)", &closed),
        ("bare HMAC handler, closed loop (wrk)", &bare_phase),
    ] {
        println!(
            "| {name} | {} | {} | {:.0} | {:.2} | {:.2} |",
            r.requests, r.non_2xx, r.per_sec, r.p50_ms, r.p99_ms
        );
    }
    let (p50, p99) = (open.pct(0.50), open.pct(0.99));
    println!(
        "| inbound, open loop {}/s (paced sender, own threads) | {} | {} | {:.0} | {p50:.2} | {p99:.2} |",
        args.rate,
        open.ok,
        open.failed,
        open.per_sec()
    );
    println!();
    println!(
        "durably acknowledged / bare handler = {:.2}",
        closed.per_sec / bare_phase.per_sec
    );
    Ok(())
}

/// Waits until the processor has worked through what the closed loop
/// left (so the open loop measures the steady state, not a backlog) and
/// prints how long that took. Bounded: gives up after five minutes.
async fn drain(
    client: &reqwest::Client,
    target: &Target,
    args: &InboundBench,
) -> Result<(), BenchError> {
    let Some((base, token)) = target.api.as_ref().filter(|_| !args.ack_only) else {
        return Ok(());
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        let waiting: Vec<Value> = client
            .get(format!("{base}/v1/inbound/events?status=received&limit=1"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(setup_err)?
            .json()
            .await
            .map_err(setup_err)?;
        if waiting.is_empty() {
            println!(
                "processing caught up {:.1} s after the closed loop",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(BenchError::Setup(
        "the processor did not catch up within five minutes".into(),
    ))
}

fn tempfile_dir() -> Result<std::path::PathBuf, BenchError> {
    let dir = std::env::temp_dir().join(format!("plugboard-wrk-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(setup_err)?;
    Ok(dir)
}

/// Signs up a merchant, connects a restopos account and maps its store.
/// A merchant with an API token and one location, made through the
/// server's own sign-up and API; answers (token, location id).
pub(crate) async fn merchant(base: &str) -> Result<(String, String), BenchError> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(setup_err)?;
    browser
        .post(format!("{base}/api/sign_up"))
        .header("Origin", base)
        .form(&[
            ("merchant_name", "Bench"),
            ("email", "bench@example.com"),
            ("password", "benchmark-password"),
        ])
        .send()
        .await
        .map_err(setup_err)?;
    let token: Value = browser
        .post(format!("{base}/api/create_token"))
        .header("Origin", base)
        .form(&[("name", "bench")])
        .send()
        .await
        .map_err(setup_err)?
        .json()
        .await
        .map_err(setup_err)?;
    let token = token["token"]
        .as_str()
        .ok_or_else(|| BenchError::Setup(format!("no token: {token}")))?
        .to_string();
    let loc: Value = reqwest::Client::new()
        .post(format!("{base}/v1/locations"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench", "city": "Jakarta", "timezone": "Asia/Jakarta"}))
        .send()
        .await
        .map_err(setup_err)?
        .json()
        .await
        .map_err(setup_err)?;
    let location = loc["id"]
        .as_str()
        .ok_or_else(|| BenchError::Setup(format!("no location: {loc}")))?
        .to_string();
    Ok((token, location))
}

pub(crate) async fn connect(base: &str) -> Result<Target, BenchError> {
    let (token, location) = merchant(base).await?;
    let api = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        api.post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let conn: Value = post(
        "/v1/provider-connections",
        json!({"provider": "restopos", "account_id": "bench", "allow_new_items": true}),
    )
    .await
    .map_err(setup_err)?
    .json()
    .await
    .map_err(setup_err)?;
    post(
        "/v1/store-mappings",
        json!({"provider": "restopos", "provider_store_id": "bench-store", "location_id": location}),
    )
    .await
    .map_err(setup_err)?;
    Ok(Target {
        api: Some((base.to_string(), token.clone())),
        url: format!("{base}/v1/integrations/pos/restopos/webhooks/menu"),
        account: "bench".into(),
        secret: conn["secret"]
            .as_str()
            .ok_or_else(|| BenchError::Setup(format!("no secret: {conn}")))?
            .to_string(),
    })
}

pub(crate) async fn closed_loop(
    client: &reqwest::Client,
    target: &Arc<Target>,
    concurrency: usize,
    duration: Duration,
    offset: u64,
) -> Phase {
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (client, target, stop) = (client.clone(), target.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut micros) = (0u64, 0u64, Vec::new());
            let mut n = offset + w as u64 * 1_000_000_000;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let sent = Instant::now();
                match target.request(&client, n).send().await {
                    Ok(r) if r.status().is_success() => {
                        micros.push(sent.elapsed().as_micros() as u32);
                        ok += 1;
                    }
                    _ => failed += 1,
                }
            }
            (ok, failed, micros)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut phase = Phase {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        micros: Vec::new(),
    };
    for w in workers {
        if let Ok((ok, failed, micros)) = w.await {
            phase.ok += ok;
            phase.failed += failed;
            phase.micros.extend(micros);
        }
    }
    phase.elapsed = start.elapsed();
    phase
}

/// The open loop: `rate` requests a second for `duration`, each timed
/// from the moment it was due (so a slow server cannot slow the sender down
/// and hide its own latency).
///
/// It runs on threads of its own, with its own client, so the sender's
/// tasks do not queue behind the server's (as an outside load generator's
/// would not). A pacing thread sleeps until each request is due (the OS
/// wakes it within tens of microseconds) and hands the request to a
/// one-worker runtime that sends it; a tokio timer would round every wait
/// up to the next millisecond, and the time a request spent waiting for
/// that tick would be counted as the server's.
async fn open_loop_apart(
    target: &Arc<Target>,
    rate: u64,
    duration: Duration,
    offset: u64,
) -> Result<Phase, BenchError> {
    let target = target.clone();
    let sender = std::thread::Builder::new()
        .name("bench-pacer".into())
        .spawn(move || open_loop(&target, rate, duration, offset))
        .map_err(setup_err)?;
    tokio::task::spawn_blocking(move || sender.join())
        .await
        .map_err(setup_err)?
        .map_err(|_| setup_err("the sender thread panicked"))?
}

fn open_loop(
    target: &Arc<Target>,
    rate: u64,
    duration: Duration,
    offset: u64,
) -> Result<Phase, BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-sender")
        .enable_all()
        .build()
        .map_err(setup_err)?;
    let client = {
        let _inside = runtime.enter();
        reqwest::Client::builder().build().map_err(setup_err)?
    };
    let rate = rate.max(1);
    let total = rate * duration.as_secs().max(1);
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let (client, target) = (client.clone(), target.clone());
        tasks.push(runtime.spawn(async move {
            let r = target.request(&client, offset + i).send().await;
            (
                r.is_ok_and(|r| r.status().is_success()),
                due.elapsed().as_micros() as u32,
            )
        }));
    }
    let mut phase = Phase {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        micros: Vec::with_capacity(total as usize),
    };
    runtime.block_on(async {
        for t in tasks {
            match t.await {
                Ok((true, us)) => {
                    phase.ok += 1;
                    phase.micros.push(us);
                }
                _ => phase.failed += 1,
            }
        }
    });
    phase.elapsed = start.elapsed();
    Ok(phase)
}

/// An axum handler that only checks the HMAC of the body: the ceiling.
async fn bare_server() -> Result<Target, BenchError> {
    let secret = "bare-secret".to_string();
    let key = secret.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let key = key.clone();
        async move {
            let ts = headers
                .get("x-restopos-timestamp")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let mut msg = format!("{ts}.").into_bytes();
            msg.extend_from_slice(&body);
            let sig = headers
                .get("x-restopos-signature")
                .and_then(|v| v.to_str().ok());
            match verify::check(Digest::Sha256, Encoding::Hex, key.as_bytes(), &msg, sig) {
                Ok(()) => (axum::http::StatusCode::OK, r#"{"status":"accepted"}"#),
                Err(_) => (axum::http::StatusCode::UNAUTHORIZED, r#"{"error":{}}"#),
            }
        }
    };
    let router = axum::Router::new().route("/bare", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(setup_err)?;
    let addr = listener.local_addr().map_err(setup_err)?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(Target {
        api: None,
        url: format!("http://{addr}/bare"),
        account: "bare".into(),
        secret,
    })
}
