//! Three real `plugboard` processes on one PostgreSQL database, one S3
//! server and NATS: signed webhooks and order dispatches go through two of
//! them, one is killed with SIGKILL mid-load and started again, and then
//! nothing acknowledged is missing or applied twice, every dispatched
//! order's delivery reached the loopback receiver, and a replay started on
//! the third replica works.
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::engines::{nats_url, PgDatabase, S3Server};
use crate::helpers::Process;
use crate::receiver::Receiver;

/// Webhooks and dispatches sent in all.
const WEBHOOKS: usize = 120;
const DISPATCHES: usize = 40;

struct Replicas {
    procs: Vec<Option<Process>>,
    ports: Vec<u16>,
    dirs: Vec<tempfile::TempDir>,
    envs: Vec<(&'static str, String)>,
}

impl Replicas {
    fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    async fn start(&mut self, i: usize) {
        let envs: Vec<(&str, &str)> = self.envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.procs[i] = Some(Process::start(self.dirs[i].path(), self.ports[i], &envs).await);
    }
}

fn menu(i: usize, store: &str) -> String {
    format!(
        r#"{{"store_id":"{store}","items":[{{"sku":"REP-{i}","name":"Item {i}","price":"{i}000","currency":"IDR"}}]}}"#
    )
}

/// Sends one webhook to `base`; answers whether it was acknowledged.
async fn send_webhook(base: &str, secret: &str, i: usize, store: &str) -> Option<Value> {
    let body = menu(i, store);
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut msg = format!("{ts}.").into_bytes();
    msg.extend_from_slice(body.as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/integrations/pos/restopos/webhooks/menu"))
        .timeout(Duration::from_secs(10))
        .header("X-Restopos-Account", "replica-acct")
        .header("X-Restopos-Timestamp", ts.to_string())
        .header(
            "X-Restopos-Signature",
            app::domain::inbound::verify::sign(
                app::domain::inbound::verify::Digest::Sha256,
                app::domain::inbound::verify::Encoding::Hex,
                secret.as_bytes(),
                &msg,
            ),
        )
        .header("X-Restopos-Event-Id", format!("rep-{i}"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

async fn send_dispatch(base: &str, token: &str, location: &str, i: usize) -> bool {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/orders/dispatch"))
        .timeout(Duration::from_secs(10))
        .bearer_auth(token)
        .json(&json!({
            "outletId": location,
            "event": "order.paid",
            "order": crate::webhooks::order(&format!("REP-ORD-{i}")),
        }))
        .send()
        .await;
    resp.is_ok_and(|r| r.status() == 200)
}

async fn count(db: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(db).await.unwrap();
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

/// Polls `sql` until it answers `want` or `within` passes; answers the last value.
async fn until(db: &str, sql: &str, want: i64, within: Duration) -> i64 {
    let started = Instant::now();
    loop {
        let n = count(db, sql).await;
        if n == want || started.elapsed() > within {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_lose_nothing_when_one_is_killed_mid_load() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let Some(nats) = nats_url().await else { return };
    let rx = Receiver::start().await;
    let mut envs = vec![
        ("PLUGBOARD_DATABASE_URL", pg.url.clone()),
        (
            "PLUGBOARD_ENCRYPTION_KEYS",
            server::keys::generate_entry("k1"),
        ),
        ("PLUGBOARD_NATS_URL", nats.clone()),
        ("PLUGBOARD_OUTBOUND_ALLOWLIST", "127.0.0.0/8".into()),
        ("PLUGBOARD_DELIVERY_CLOCK_SCALE", "0.001".into()),
    ];
    envs.extend(s3.envs());
    let mut replicas = Replicas {
        procs: vec![None, None, None],
        ports: (0..3).map(|_| Process::free_port()).collect(),
        dirs: (0..3).map(|_| tempfile::tempdir().unwrap()).collect(),
        envs,
    };
    // The first migrates; the others start while it may still be at it.
    for i in 0..3 {
        replicas.start(i).await;
    }
    let first = replicas.procs[0].as_ref().unwrap();
    let token = first
        .merchant_token("Replica Warung", "replicas@example.com")
        .await;
    let api = |base: String, method: Method, path: &str| {
        reqwest::Client::new()
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token)
    };
    let r0 = replicas.url(0);
    let location: Value = api(r0.clone(), Method::POST, "/v1/locations")
        .json(&crate::helpers::location("Kemang"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let location = location["id"].as_str().unwrap().to_string();
    let conn: Value = api(r0.clone(), Method::POST, "/v1/provider-connections")
        .json(
            &json!({"provider": "restopos", "account_id": "replica-acct", "allow_new_items": true}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = conn["secret"].as_str().unwrap().to_string();
    let mapped = api(r0.clone(), Method::POST, "/v1/store-mappings")
        .json(&json!({"provider": "restopos", "provider_store_id": "rep-store", "location_id": location}))
        .send()
        .await
        .unwrap();
    assert_eq!(mapped.status(), 200);
    let registered = api(r0.clone(), Method::POST, "/api/v1/webhooks/register")
        .json(&json!({"url": rx.url("/orders"), "outletId": location, "events": ["order.paid"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);

    // Load through replicas 0 and 1; replica 1 is killed halfway. A sender
    // whose request was not acknowledged retries on replica 0, as a
    // provider retries a failed webhook.
    let mut acked: BTreeSet<usize> = BTreeSet::new();
    let mut dispatched: BTreeSet<usize> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..WEBHOOKS {
        if i == WEBHOOKS / 2 {
            replicas.procs[1].take().unwrap().kill();
        }
        let via = replicas.url(i % 2);
        let mut ack = send_webhook(&via, &secret, i, "rep-store").await;
        if ack.is_none() {
            ack = send_webhook(&r0, &secret, i, "rep-store").await;
        }
        let ack = ack.unwrap_or_else(|| panic!("webhook {i} was never acknowledged"));
        assert!(
            ack["status"] == "accepted" || ack["status"] == "duplicate",
            "{ack}"
        );
        acked.insert(i);
        if i % 3 == 0 && dispatched.len() < DISPATCHES {
            let n = dispatched.len();
            let sent = send_dispatch(&via, &token, &location, n).await
                || send_dispatch(&r0, &token, &location, n).await;
            assert!(sent, "dispatch {n} was never answered");
            dispatched.insert(n);
        }
        assert!(Instant::now() < deadline, "the load took too long");
    }
    replicas.start(1).await;

    // Every acknowledged webhook is applied exactly once in effect.
    let db = pg.url.as_str();
    let processed = until(
        db,
        "SELECT COUNT(*) FROM inbound_events WHERE status = 'processed'",
        acked.len() as i64,
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(
        processed,
        acked.len() as i64,
        "every acknowledged event processed once"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM catalog_items WHERE provider_sku LIKE 'REP-%'"
        )
        .await,
        acked.len() as i64,
        "no missing item"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM (SELECT source_event_id FROM outbox WHERE topic = 'catalog.commands' \
             GROUP BY source_event_id HAVING COUNT(*) > 1) doubled"
        )
        .await,
        0,
        "no canonical command applied twice"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(DISTINCT source_event_id) FROM outbox WHERE topic = 'catalog.commands'"
        )
        .await,
        acked.len() as i64
    );

    // Every dispatched order reached the receiver at least once (it dedupes
    // by delivery id).
    let started = Instant::now();
    let mut seen: HashSet<String> = HashSet::new();
    while seen.len() < dispatched.len() && started.elapsed() < Duration::from_secs(90) {
        seen = rx
            .captured()
            .iter()
            .filter_map(|c| {
                // The order itself, byte for byte as dispatched.
                let body: Value = serde_json::from_slice(&c.body).ok()?;
                Some(body["id"].as_str()?.to_string())
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<usize> = dispatched
        .iter()
        .copied()
        .filter(|n| !seen.contains(&format!("REP-ORD-{n}")))
        .collect();
    assert!(
        missing.is_empty(),
        "deliveries never received: {missing:?}; {} requests received, the first: {:?}",
        rx.captured().len(),
        rx.captured()
            .first()
            .map(|c| String::from_utf8_lossy(&c.body).into_owned())
    );
    // Each carries its delivery id (the seed format's `X-…-Delivery-ID`).
    let ids: HashSet<String> = rx
        .captured()
        .iter()
        .filter_map(|c| {
            c.headers
                .iter()
                .find(|(name, _)| name.as_str().ends_with("delivery-id"))
                .and_then(|(_, v)| v.to_str().ok().map(str::to_string))
        })
        .collect();
    assert!(ids.len() >= dispatched.len(), "{ids:?}");

    // A replay started on replica 2 of an event replica 0 stored.
    let failed = send_webhook(&r0, &secret, 10_000, "unmapped-store")
        .await
        .expect("acknowledged");
    let failed_id = failed["event_id"].as_str().unwrap().to_string();
    let r2 = replicas.url(2);
    let status_sql = format!(
        "SELECT CASE status WHEN 'failed' THEN 1 WHEN 'processed' THEN 2 ELSE 0 END::bigint \
         FROM inbound_events WHERE id = '{failed_id}'"
    );
    assert_eq!(until(db, &status_sql, 1, Duration::from_secs(30)).await, 1);
    let mapped = api(r2.clone(), Method::POST, "/v1/store-mappings")
        .json(&json!({"provider": "restopos", "provider_store_id": "unmapped-store", "location_id": location}))
        .send()
        .await
        .unwrap();
    assert_eq!(mapped.status(), 200);
    let replayed: Value = api(
        r2,
        Method::POST,
        &format!("/v1/inbound/events/{failed_id}/replay"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(replayed["status"], "processed", "{replayed}");

    // The outbox reached NATS too.
    let newest = count(db, "SELECT COALESCE(MAX(id), 0) FROM outbox").await;
    let relayed = until(
        db,
        &format!(
            "SELECT CASE WHEN last_id >= {newest} THEN 1 ELSE 0 END::bigint FROM outbox_cursors \
             WHERE consumer = 'nats-relay'"
        ),
        1,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(relayed, 1, "the relay passed every outbox row");
    for p in replicas.procs.iter_mut().filter_map(Option::take) {
        p.kill();
    }
}
