//! A real `plugboard` process under a concurrent order-dispatch load is
//! killed with SIGKILL; started again on the same data, every dispatch it
//! had answered is there: the order, and its delivery to the registered
//! endpoint. (Group commit answers a caller only after the transaction
//! holding its order and deliveries committed.) On the embedded default,
//! and on PostgreSQL when it is reachable.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::engines::PgDatabase;
use crate::helpers::Process;
use crate::receiver::Receiver;

/// Concurrent callers, dispatches each at most, and how many answers the
/// load waits for before the kill.
const CALLERS: usize = 8;
const PER_CALLER: usize = 200;
const KILL_AFTER: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    answered_dispatches_survive_a_kill(Vec::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    answered_dispatches_survive_a_kill(vec![
        ("PLUGBOARD_DATABASE_URL", pg.url.clone()),
        (
            "PLUGBOARD_ENCRYPTION_KEYS",
            server::keys::generate_entry("k1"),
        ),
    ])
    .await;
}

async fn answered_dispatches_survive_a_kill(mut envs: Vec<(&'static str, String)>) {
    let rx = Receiver::start().await;
    envs.push(("PLUGBOARD_OUTBOUND_ALLOWLIST", "127.0.0.0/8".into()));
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let port = Process::free_port();
    let process = Process::start(dir.path(), port, &envs).await;
    let base = process.url.clone();
    let token = process
        .merchant_token("Warung Crash", "crash@example.com")
        .await;
    let client = reqwest::Client::new();
    let location: Value = client
        .post(format!("{base}/v1/locations"))
        .bearer_auth(&token)
        .json(&crate::helpers::location("Kemang"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let location = location["id"].as_str().unwrap().to_string();
    let registered = client
        .post(format!("{base}/api/v1/webhooks/register"))
        .bearer_auth(&token)
        .json(&json!({"url": rx.url("/orders"), "outletId": location, "events": ["order.paid"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);

    // Callers dispatch until the process dies under them; each keeps the
    // order ids it was answered.
    let answered: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut callers = tokio::task::JoinSet::new();
    for c in 0..CALLERS {
        let (client, base, token, location, answered) = (
            client.clone(),
            base.clone(),
            token.clone(),
            location.clone(),
            answered.clone(),
        );
        callers.spawn(async move {
            for i in 0..PER_CALLER {
                let reference = format!("CRASH-{c}-{i}");
                let resp = client
                    .post(format!("{base}/api/v1/orders/dispatch"))
                    .timeout(Duration::from_secs(10))
                    .bearer_auth(&token)
                    .json(&json!({
                        "outletId": location,
                        "event": "order.paid",
                        "order": crate::webhooks::order(&reference),
                    }))
                    .send()
                    .await;
                let Ok(resp) = resp else { return };
                if resp.status() != 200 {
                    return;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    return;
                };
                let id = body["orderId"].as_str().unwrap_or_default().to_string();
                answered.lock().unwrap().push((reference, id));
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.lock().unwrap().len() < KILL_AFTER {
        assert!(
            Instant::now() < deadline,
            "the load did not reach {KILL_AFTER} answers in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    process.kill();
    while callers.join_next().await.is_some() {}
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() < CALLERS * PER_CALLER,
        "the kill came before the load ended"
    );

    // Started again on the same data: every answered order is there, with
    // its delivery.
    let process = Process::start(dir.path(), port, &envs).await;
    let mut missing = Vec::new();
    for (reference, id) in &answered {
        let detail = client
            .get(format!("{}/api/v1/orders/{id}", process.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if detail.status() != 200 {
            missing.push(format!("{reference}: order {id} is {}", detail.status()));
            continue;
        }
        let detail: Value = detail.json().await.unwrap();
        assert_eq!(detail["order"]["reference"], reference.as_str(), "{detail}");
        let deliveries = detail["deliveries"].as_array().map_or(0, Vec::len);
        if deliveries == 0 {
            missing.push(format!("{reference}: no delivery"));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} answered dispatches lost: {missing:?}",
        missing.len(),
        answered.len()
    );
    process.kill();
}
