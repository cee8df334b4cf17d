//! `plugboard bench scripts`: JS transformer calls per second and per-call
//! latency through the sandbox, with the shipped Square inventory script
//! on a typical event (the compiled function reused, as in production),
//! and per-call time of a small shipped script (Revel's status update) on
//! its typical event.
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::domain::scripts::sandbox::{Limits, Sandbox, Script};
use app::domain::scripts::source;
use serde_json::json;

use crate::bench::BenchError;

/// The shipped script, compiled into the binary for the benchmark.
const SQUARE: &str = include_str!("../../scripts/adapters/square/inventory.js");
/// A small shipped script: Revel `order.finalized` → a status update.
const REVEL_STATUS: &str = include_str!("../../scripts/adapters/revel/order_status_update.js");

/// Runs `seconds` per phase: one caller (latency), then `concurrency`
/// callers over `workers` threads (throughput).
pub async fn run(seconds: u64, concurrency: usize, workers: usize) -> Result<(), BenchError> {
    let sandbox = Sandbox::start(Limits {
        workers: workers.max(1),
        ..Limits::default()
    });
    let script = Arc::new(Script {
        checksum: source::checksum(SQUARE),
        source: SQUARE.to_string(),
    });
    let counts: Vec<_> = (0..5)
        .map(|i| {
            json!({"catalog_object_id": format!("VAR-{i}"), "catalog_object_type": "ITEM_VARIATION",
                        "location_id": "L1", "quantity": format!("{}", i * 3), "state": "IN_STOCK",
                        "calculated_at": "2026-11-22T10:00:00Z"})
        })
        .collect();
    let input = json!({"provider": "square", "topic": "inventory", "account": "M1", "headers": {},
        "payload": {"merchant_id": "M1", "type": "inventory.count.updated", "event_id": "e",
                    "created_at": "2026-11-22T10:00:00Z",
                    "data": {"type": "inventory_counts", "id": "x", "object": {"inventory_counts": counts}}}})
    .to_string();
    println!(
        "input {} bytes, 5 counts → 10 commands; {} s per phase",
        input.len(),
        seconds
    );
    // Warm-up: compiles the function once per worker.
    for _ in 0..(workers * 4) {
        sandbox
            .run(script.clone(), input.clone())
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?;
    }
    let budget = Duration::from_secs(seconds.clamp(1, 120));

    // 0. The JS alone, on this thread: JSON in, transform, JSON out.
    let mut direct =
        app::domain::scripts::sandbox::time_calls(Limits::default(), &script, &input, 20_000)
            .map_err(|e| BenchError::Setup(e.to_string()))?;
    let identity = Script {
        checksum: "identity".into(),
        source: "function transform(input) { return input; }".into(),
    };
    let mut json_only =
        app::domain::scripts::sandbox::time_calls(Limits::default(), &identity, &input, 20_000)
            .map_err(|e| BenchError::Setup(e.to_string()))?;
    let small = Script {
        checksum: source::checksum(REVEL_STATUS),
        source: REVEL_STATUS.to_string(),
    };
    let small_input = json!({
        "payload": {"id": 555, "dining_option": 3, "updated_date": "2026-12-02T10:00:00",
                    "closed_date": "2026-12-02T10:00:00", "establishment": 1},
        "outlet": {"id": "0193a6c2-7d5e-7c1a-9a7e-3f1f7e0c2b11",
                   "settings": {"pickup_dining_option": 3, "delivery_dining_option": 4}}})
    .to_string();
    let mut small_calls =
        app::domain::scripts::sandbox::time_calls(Limits::default(), &small, &small_input, 20_000)
            .map_err(|e| BenchError::Setup(e.to_string()))?;
    for (name, calls) in [
        ("in-thread", &mut direct),
        ("identity", &mut json_only),
        ("small script", &mut small_calls),
    ] {
        calls.sort_unstable();
        let at = |p: f64| calls[((calls.len() - 1) as f64 * p) as usize].as_nanos() as f64 / 1000.0;
        println!(
            "{name:<13} {:>9} calls      p50 {:.1} µs   p99 {:.1} µs",
            calls.len(),
            at(0.50),
            at(0.99)
        );
    }
    println!("  (in-thread: the Square script alone, no queue; identity: JSON in and out only;");
    println!(
        "   small script: Revel's order_status_update on a {}-byte order.finalized, in-thread)",
        small_input.len()
    );

    // 1. One caller: the latency of one call, round trip through the queue.
    let mut micros = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget && micros.len() < 5_000_000 {
        let t = Instant::now();
        sandbox
            .run(script.clone(), input.clone())
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        micros.push(t.elapsed().as_nanos() as u64);
    }
    micros.sort_unstable();
    let pct = |p: f64| micros[((micros.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    println!(
        "one caller:   {:>9.0} calls/s   p50 {:.1} µs   p99 {:.1} µs",
        micros.len() as f64 / start.elapsed().as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );

    // 2. Many callers over every worker thread.
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (sandbox, script, input) = (sandbox.clone(), script.clone(), input.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < budget && n < 5_000_000 {
                if sandbox.run(script.clone(), input.clone()).await.is_ok() {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    println!(
        "{concurrency} callers, {workers} workers: {:>9.0} calls/s",
        total as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}
