//! JS transformers end to end: `plugboard scripts deploy`, a scripted
//! adapter (Square inventory) through the gateway, and every way a script
//! can fail — against a real server and the real binary.
use std::path::Path;

use app::domain::inbound::verify::{sign, Digest, Encoding};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, Merchant, TestApp};
use crate::on_both_backends;

on_both_backends!(square_inventory_runs_through_the_deployed_script,);

/// The repository's own scripts.
fn repo_scripts() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/adapters")
        .display()
        .to_string()
}

/// A merchant with a Square connection, store `L1` mapped, SKU `VAR-1`
/// mapped to an item on the location's catalog.
struct Square<'a> {
    m: Merchant<'a>,
    account: String,
    secret: String,
    location: String,
}

impl<'a> Square<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let m = Merchant::new(app, "Kopi Square").await;
        let account = format!("SQ{}", uuid::Uuid::new_v4().simple());
        let body: Value = app
            .bearer(Method::POST, "/v1/provider-connections", &m.token)
            .json(&json!({"provider": "square", "account_id": account}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = body["secret"].as_str().expect("secret").to_string();
        let location = m.location("Kemang").await;
        let item_id = seed_item(app, &m, &location).await;
        for (path, body) in [
            (
                "/v1/store-mappings",
                json!({"provider": "square", "provider_store_id": "L1", "location_id": location}),
            ),
            (
                "/v1/item-mappings",
                json!({"provider": "square", "provider_sku": "VAR-1", "item_id": item_id}),
            ),
        ] {
            let resp = app
                .bearer(Method::POST, path, &m.token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
        }
        Square {
            m,
            account,
            secret,
            location,
        }
    }

    fn event(&self, event_id: &str, kind: &str, counts: Value) -> String {
        json!({
            "merchant_id": self.account,
            "type": kind,
            "event_id": event_id,
            "created_at": "2026-11-22T10:00:00Z",
            "data": {"type": "inventory_counts", "id": "x", "object": {"inventory_counts": counts}}
        })
        .to_string()
    }

    fn count(quantity: &str, state: &str) -> Value {
        json!({"catalog_object_id": "VAR-1", "catalog_object_type": "ITEM_VARIATION",
               "location_id": "L1", "quantity": quantity, "state": state,
               "calculated_at": "2026-11-22T10:00:00Z"})
    }

    /// Posts `body` signed as Square signs: URL followed by the body.
    async fn post(&self, body: &str) -> reqwest::Response {
        let url = self
            .m
            .app
            .url("/v1/integrations/pos/square/webhooks/inventory");
        let mut message = url.clone().into_bytes();
        message.extend_from_slice(body.as_bytes());
        reqwest::Client::new()
            .post(&url)
            .header(
                "x-square-hmacsha256-signature",
                sign(
                    Digest::Sha256,
                    Encoding::Base64,
                    self.secret.as_bytes(),
                    &message,
                ),
            )
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    async fn event_by_id(&self, id: &str) -> Value {
        for _ in 0..400 {
            let events: Vec<Value> = self
                .m
                .call(Method::GET, "/v1/inbound/events")
                .await
                .json()
                .await
                .unwrap();
            let event = events.into_iter().find(|e| e["id"] == id).expect("listed");
            if event["status"] != "received" {
                return event;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("event {id} not processed in 20 s");
    }

    async fn stock(&self) -> Value {
        let catalog: Value = self
            .m
            .call(
                Method::GET,
                &format!("/v1/locations/{}/catalog", self.location),
            )
            .await
            .json()
            .await
            .unwrap();
        catalog["items"][0].clone()
    }
}

/// Puts one item on the location's catalog with a seller feed; answers its id.
async fn seed_item(app: &TestApp, m: &Merchant<'_>, location: &str) -> Value {
    let post =
        |path: &str, body: Value| app.bearer(Method::POST, path, &m.token).json(&body).send();
    let seller: Value = post(
        "/v1/provider-connections",
        json!({"provider": "sellerfeed", "account_id": format!("brand-{}", uuid::Uuid::new_v4().simple()), "allow_new_items": true}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let resp = post(
        "/v1/store-mappings",
        json!({"provider": "sellerfeed", "provider_store_id": "shop", "location_id": location}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let feed = json!({"feed_id": "seed", "store_id": "shop", "rows": [
        {"sku": "KOPI", "name": "Kopi susu", "price": "25000", "currency": "IDR"}]});
    let resp = reqwest::Client::new()
        .post(app.url("/v1/integrations/seller/sellerfeed/import"))
        .header(
            "X-Seller-Account",
            seller["connection"]["account_id"].as_str().unwrap(),
        )
        .header("X-Api-Key", seller["secret"].as_str().unwrap())
        .body(feed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for _ in 0..400 {
        let catalog: Value = app
            .bearer(
                Method::GET,
                &format!("/v1/locations/{location}/catalog"),
                &m.token,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(item) = catalog["items"].get(0) {
            return item["item_id"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the seed item never reached the catalog");
}

fn deploy(app: &TestApp, dir: &str, dry_run: bool) -> (bool, String) {
    let mut args = vec!["scripts", "deploy", "--dir", dir];
    if dry_run {
        args.push("--dry-run");
    }
    let out = app.cli(&args, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Writes `scripts/square/inventory.js` with `body` as version `version`.
fn script_dir(version: &str, body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("square")).unwrap();
    std::fs::write(
        dir.path().join("square/inventory.js"),
        format!(
            "/**\n * @provider square\n * @topic inventory\n * @version {version}\n */\n{body}\n"
        ),
    )
    .unwrap();
    dir
}

/// A newly active version reaches the server's cache within 2 s.
async fn let_cache_expire() {
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
}

async fn square_inventory_runs_through_the_deployed_script(app: TestApp) {
    // Dry run: says what it would do, writes nothing.
    let (ok, out) = deploy(&app, &repo_scripts(), true);
    assert!(ok, "{out}");
    assert!(
        out.contains("square/inventory 1.0.0: new, will be active"),
        "{out}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM adapter_scripts").await, 0);
    let (ok, out) = deploy(&app, &repo_scripts(), false);
    assert!(ok, "{out}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM adapter_scripts WHERE active AND provider = 'square'")
            .await,
        1
    );
    let (ok, out) = deploy(&app, &repo_scripts(), false);
    assert!(ok && out.contains("unchanged"), "{out}");

    let sq = Square::new(&app).await;
    // Good: stock level and availability reach the location's catalog.
    let body = sq.event(
        "ev-1",
        "inventory.count.updated",
        json!([Square::count("7", "IN_STOCK")]),
    );
    let ack: Value = sq.post(&body).await.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
    let event = sq.event_by_id(ack["event_id"].as_str().unwrap()).await;
    assert_eq!(event["status"], "processed", "{event}");
    let item = sq.stock().await;
    assert_eq!(
        (item["stock_level"].as_f64(), item["available"].as_bool()),
        (Some(7.0), Some(true)),
        "{item}"
    );

    // Zero on hand: sold out.
    let body = sq.event(
        "ev-2",
        "inventory.count.updated",
        json!([Square::count("0", "IN_STOCK")]),
    );
    let ack: Value = sq.post(&body).await.json().await.unwrap();
    sq.event_by_id(ack["event_id"].as_str().unwrap()).await;
    assert_eq!(sq.stock().await["available"], false);

    // Skip sentinel: 200, said so, recorded as skipped, nothing changed.
    let body = sq.event(
        "ev-3",
        "inventory.count.updated",
        json!([Square::count("3", "SOLD")]),
    );
    let resp = sq.post(&body).await;
    assert_eq!(resp.status(), 200);
    let ack: Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "skipped", "{ack}");
    assert_eq!(ack["reason"], "no IN_STOCK item variation counts");
    let event = sq.event_by_id(ack["event_id"].as_str().unwrap()).await;
    assert_eq!(
        (event["status"].as_str(), event["failure_class"].as_str()),
        (Some("skipped"), None)
    );
    assert_eq!(
        sq.stock().await["stock_level"],
        0.0,
        "the skip changed nothing"
    );

    // A bad signature never reaches the script.
    let resp = reqwest::Client::new()
        .post(app.url("/v1/integrations/pos/square/webhooks/inventory"))
        .header("x-square-hmacsha256-signature", "AAAA")
        .body(sq.event("ev-4", "inventory.count.updated", json!([])))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_signature");
}

#[tokio::test]
async fn script_failures_answer_5xx_are_kept_and_replay_once_fixed() {
    // Limits small enough that the memory bomb hits memory before time,
    // even in a debug build.
    let app = TestApp::sqlite_with(|c| {
        c.script_cpu_ms = 400;
        c.script_memory_mb = 4;
    })
    .await;
    let sq = Square::new(&app).await;
    let body = sq.event(
        "ev-9",
        "inventory.count.updated",
        json!([Square::count("5", "IN_STOCK")]),
    );

    // No active script: 500 with its own code; the delivery is kept.
    let (status, code, _) = error_of(sq.post(&body).await).await;
    assert_eq!((status, code.as_str()), (500, "no_active_script"));

    let cases = [
        ("1.0.1", "function transform(i) { throw new TypeError('cannot read ' + i.topic); }", "TypeError: cannot read inventory"),
        ("1.0.2", "function transform() { for (;;) {} }", "CPU budget"),
        ("1.0.3", "function transform() { const a = []; for (;;) { a.push('x'.repeat(65536) + a.length); } }", "memory limit"),
        ("1.0.4", "function transform() { return {store: 'L1', commands: [{type: 'teleport'}]}; }", "contract"),
    ];
    for (version, source, expected) in cases {
        let dir = script_dir(version, source);
        let (ok, out) = deploy(&app, &dir.path().display().to_string(), false);
        assert!(ok, "{out}");
        let_cache_expire().await;
        let (status, code, body) = error_of(sq.post(&body).await).await;
        assert_eq!(
            (status, code.as_str()),
            (500, "transform_failed"),
            "{version}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{version}: {message}");
        assert!(message.contains(version), "names the version: {message}");
    }
    // Every refused delivery is kept as a processing failure.
    let failed: Vec<Value> =
        sq.m.call(Method::GET, "/v1/inbound/events?status=failed")
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(failed.len(), 5, "{failed:?}");
    assert!(failed.iter().all(|e| e["failure_class"] == "processing"));

    // The same version with other content is refused whole.
    let dir = script_dir("1.0.4", "function transform() { return {skip: true}; }");
    let (ok, out) = deploy(&app, &dir.path().display().to_string(), false);
    assert!(!ok && out.contains("CONFLICT"), "{out}");
    // A script that does not compile is refused before anything is written.
    let dir = script_dir("1.0.5", "function transform( {");
    let (ok, out) = deploy(&app, &dir.path().display().to_string(), false);
    assert!(!ok && out.contains("do not compile"), "{out}");
    assert_eq!(app.count("SELECT COUNT(*) FROM adapter_scripts").await, 4);

    // Fixed: the vendor's retry is accepted (not taken for a duplicate of
    // the refused attempts) and applied.
    let (ok, out) = deploy(&app, &repo_scripts(), false);
    assert!(ok, "{out}");
    let_cache_expire().await;
    let ack: Value = sq.post(&body).await.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
    assert_eq!(
        sq.event_by_id(ack["event_id"].as_str().unwrap()).await["status"],
        "processed"
    );
    assert_eq!(sq.stock().await["stock_level"], 5.0);

    // Replaying a refused attempt now is a duplicate of the accepted one.
    let replayed: Value =
        sq.m.call(
            Method::POST,
            &format!(
                "/v1/inbound/events/{}/replay",
                failed[0]["id"].as_str().unwrap()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed["status"], "duplicate", "{replayed}");
    assert_eq!(replayed["duplicate_of"], ack["event_id"]);
}
