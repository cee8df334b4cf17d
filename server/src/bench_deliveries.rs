//! `plugboard bench deliveries`: the outbound delivery engine against a
//! receiver on loopback.
//!
//! It starts a real server (embedded SQLite in a fresh temporary folder,
//! loopback allowlisted) and a bare receiver that answers 200 to anything,
//! registers the receiver as an endpoint through the API, then:
//! 1. dispatch latency: `concurrency` callers post orders to
//!    `POST /api/v1/orders/dispatch` for `seconds` (each call validates,
//!    persists, signs, sends and records before it answers): calls/s, p50
//!    and p99;
//! 2. throughput: `count` deliveries are queued in one transaction and the
//!    workers send them; deliveries/s from the commit until the last one
//!    is recorded as succeeded.
//!
//! Bounded in time and count; only 127.0.0.1 is contacted.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::domain::outbound::deliveries::{self, NewDelivery};
use entity::delivery;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use serde_json::{json, Value};

use crate::bench::{merchant, setup_err, BenchError};
use crate::config::Config;

/// Runs the benchmark and prints the figures.
/// `database_url`: a PostgreSQL URL whose user may create databases (the
/// run gets its own there); `None` runs on the embedded SQLite file.
pub async fn run(
    seconds: u64,
    concurrency: usize,
    count: u64,
    database_url: Option<String>,
) -> Result<(), BenchError> {
    let dir = std::env::temp_dir().join(format!("plugboard-bench-{}", uuid::Uuid::new_v4()));
    let mut config = Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        demo_data: false,
        log: "error".into(),
        outbound_allowlist: vec!["127.0.0.0/8".into()],
        ..Config::default()
    };
    let postgres = database_url.as_deref();
    let result = match crate::bench_database::use_engine(&mut config, postgres).await {
        Ok(database) => {
            let engine = crate::bench_database::engine_name(postgres);
            let result = measure(seconds, concurrency, count, config, engine).await;
            if let Some(database) = database {
                database.drop_it().await;
            }
            result
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(
    seconds: u64,
    concurrency: usize,
    count: u64,
    config: Config,
    engine: &str,
) -> Result<(), BenchError> {
    let db_config = config.clone();
    let app = crate::startup::Application::build(config)
        .await
        .map_err(setup_err)?;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let (received, receiver) = receiver().await?;
    let (token, location) = merchant(&base).await?;
    let api = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(setup_err)?;
    let endpoint = register_endpoint(
        &api,
        &base,
        &token,
        json!({"url": receiver, "outletId": location}),
    )
    .await?;

    println!("Plugboard delivery benchmark — {engine}, loopback receiver answering 200");
    println!(
        "dispatch: {concurrency} callers for {seconds} s; throughput: {count} queued deliveries"
    );

    // 1. Dispatch latency, each call attempting its delivery inline.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds.max(1));
    let next = Arc::new(AtomicU64::new(0));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (api, base, token, location, next) = (
            api.clone(),
            base.clone(),
            token.clone(),
            location.clone(),
            next.clone(),
        );
        callers.spawn(async move {
            let mut micros = Vec::new();
            let mut failed = 0u64;
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let body = json!({
                    "outletId": location,
                    "event": "order.paid",
                    "order": {"id": format!("BENCH-{n}"), "currency": "IDR", "total": 50000,
                              "items": [{"sku": "1", "name": "Nasi Goreng", "quantity": 2, "price": 25000}]},
                });
                let t = Instant::now();
                let ok = match api
                    .post(format!("{base}/api/v1/orders/dispatch"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => r
                        .json::<Value>()
                        .await
                        .is_ok_and(|v| v["dispatched"] == true),
                    _ => false,
                };
                if ok {
                    micros.push(t.elapsed().as_micros() as u64);
                } else {
                    failed += 1;
                }
            }
            (micros, failed)
        });
    }
    let mut micros = Vec::new();
    let mut failed = 0;
    while let Some(Ok((m, f))) = callers.join_next().await {
        micros.extend(m);
        failed += f;
    }
    let dispatch_secs = started.elapsed().as_secs_f64();
    micros.sort_unstable();
    let pct = |p: f64| {
        micros
            .get(((micros.len().max(1) - 1) as f64 * p).round() as usize)
            .map(|us| *us as f64 / 1000.0)
            .unwrap_or(f64::NAN)
    };

    // 2. Throughput of the workers.
    let database = crate::db::connect(&db_config).await.map_err(setup_err)?;
    let ids = queue_deliveries(&database.conn, endpoint, count).await?;
    let queued_at = Instant::now();
    let limit = queued_at + Duration::from_secs(120);
    let first = *ids.first().unwrap_or(&uuid::Uuid::nil());
    let done = loop {
        let done = delivery::Entity::find()
            .filter(delivery::Column::Status.eq(delivery::status::SUCCEEDED))
            .filter(delivery::Column::Id.gte(first))
            .count(&database.conn)
            .await
            .map_err(setup_err)?;
        if done >= count || Instant::now() > limit {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let throughput_secs = queued_at.elapsed().as_secs_f64();

    println!();
    println!("| run | done | failed | per second | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| dispatch API, {concurrency} callers (inline attempt) | {} | {failed} | {:.0} | {:.2} | {:.2} |",
        micros.len(),
        micros.len() as f64 / dispatch_secs,
        pct(0.50),
        pct(0.99)
    );
    println!(
        "| queued deliveries sent by the workers | {done} | {} | {:.0} | | |",
        count.saturating_sub(done),
        done as f64 / throughput_secs
    );
    println!();
    println!(
        "the receiver got {} requests",
        received.load(Ordering::Relaxed)
    );
    Ok(())
}

/// A receiver on loopback that answers 200 `{}` and counts requests.
/// Registers a webhook endpoint through the API; answers its id.
pub(crate) async fn register_endpoint(
    api: &reqwest::Client,
    base: &str,
    token: &str,
    registration: Value,
) -> Result<uuid::Uuid, BenchError> {
    let registered: Value = api
        .post(format!("{base}/api/v1/webhooks/register"))
        .bearer_auth(token)
        .json(&registration)
        .send()
        .await
        .map_err(setup_err)?
        .json()
        .await
        .map_err(setup_err)?;
    registered["endpoint"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| BenchError::Setup(format!("no endpoint: {registered}")))
}

/// Queues `count` webhook deliveries to `endpoint` in one transaction, as
/// due now; answers their ids, in order.
pub(crate) async fn queue_deliveries(
    db: &sea_orm::DatabaseConnection,
    endpoint: uuid::Uuid,
    count: u64,
) -> Result<Vec<uuid::Uuid>, BenchError> {
    let merchant_id = entity::webhook_endpoint::Entity::find_by_id(endpoint)
        .one(db)
        .await
        .map_err(setup_err)?
        .ok_or_else(|| BenchError::Setup("endpoint vanished".into()))?
        .merchant_id;
    let body = br#"{"event":"order.ready","orderId":"bench","status":"READY"}"#.to_vec();
    let txn = db.begin().await.map_err(setup_err)?;
    let mut ids = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let d = deliveries::enqueue(
            &txn,
            NewDelivery {
                merchant_id,
                location_id: None,
                target: delivery::target::WEBHOOK,
                endpoint_id: Some(endpoint),
                provider: None,
                event_type: "order.ready".into(),
                order_id: None,
                body: body.clone(),
                inline: false,
            },
        )
        .await
        .map_err(setup_err)?;
        ids.push(d.id);
    }
    txn.commit().await.map_err(setup_err)?;
    Ok(ids)
}

pub(crate) async fn receiver() -> Result<(Arc<AtomicU64>, String), BenchError> {
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::Relaxed);
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(setup_err)?;
    let addr = listener.local_addr().map_err(setup_err)?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((count, format!("http://{addr}/hook")))
}
