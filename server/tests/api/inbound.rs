//! The inbound gateway's synchronous path: verify, store, acknowledge —
//! against a real server on SQLite and PostgreSQL.
use app::domain::inbound::verify::{sign, Digest, Encoding};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, Merchant, Process, TestApp};
use crate::on_every_engine;

on_every_engine!(
    signed_deliveries_are_stored_and_acknowledged,
    unauthenticated_deliveries_are_refused_with_invalid_signature,
    repeats_are_acknowledged_as_duplicates,
    connections_are_validated_and_private,
    menus_availability_and_store_status_reach_the_location_catalog,
    failures_are_classified_kept_and_replayable,
    erp_stock_deltas_and_seller_imports_update_the_catalog,
    variants_are_mapped_and_updates_need_the_item_listed,
    merchants_map_variants_on_the_inbound_page,
);

pub(crate) struct Pos<'a> {
    pub(crate) m: Merchant<'a>,
    pub(crate) account: String,
    pub(crate) secret: String,
}

impl<'a> Pos<'a> {
    pub(crate) async fn new(app: &'a TestApp) -> Self {
        Self::with(app, false).await
    }

    pub(crate) async fn with(app: &'a TestApp, allow_new_items: bool) -> Self {
        let m = Merchant::new(app, "Warung Inbound").await;
        let account = format!("acct-{}", uuid::Uuid::new_v4().simple());
        let resp = m
            .app
            .bearer(Method::POST, "/v1/provider-connections", &m.token)
            .json(&json!({"provider": "restopos", "account_id": account, "allow_new_items": allow_new_items}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        let secret = body["secret"].as_str().unwrap().to_string();
        assert_eq!(secret.len(), 64);
        Pos { m, account, secret }
    }

    /// Posts `body` to `topic`, signed at `ts` with `secret`.
    pub(crate) async fn post_signed(
        &self,
        topic: &str,
        body: &str,
        event_id: &str,
        ts: i64,
        secret: &str,
    ) -> reqwest::Response {
        restopos_request(
            &self.m.app.url(""),
            &self.account,
            secret,
            (topic, body, event_id),
            ts,
        )
        .await
    }

    pub(crate) async fn post(&self, topic: &str, body: &str, event_id: &str) -> reqwest::Response {
        self.post_signed(topic, body, event_id, now(), &self.secret.clone())
            .await
    }

    pub(crate) async fn events(&self) -> Vec<Value> {
        self.m
            .call(Method::GET, "/v1/inbound/events")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
    }
}

impl Pos<'_> {
    pub(crate) async fn map_store(&self, store: &str, location: &str) {
        let resp = self
            .m
            .app
            .bearer(Method::POST, "/v1/store-mappings", &self.m.token)
            .json(&json!({"provider": "restopos", "provider_store_id": store, "location_id": location}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }

    /// Posts and waits until the event leaves `received`; answers it.
    pub(crate) async fn deliver(&self, topic: &str, body: &str, event_id: &str) -> Value {
        let ack: Value = self.post(topic, body, event_id).await.json().await.unwrap();
        assert_eq!(ack["status"], "accepted", "{ack}");
        self.settled(ack["event_id"].as_str().unwrap()).await
    }

    pub(crate) async fn settled(&self, id: &str) -> Value {
        for _ in 0..400 {
            let event = self
                .events()
                .await
                .into_iter()
                .find(|e| e["id"] == id)
                .expect("event listed");
            if event["status"] != "received" {
                return event;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("event {id} was not processed in 20 s");
    }

    pub(crate) async fn catalog(&self, location: &str) -> Value {
        self.m
            .call(Method::GET, &format!("/v1/locations/{location}/catalog"))
            .await
            .json()
            .await
            .unwrap()
    }
}

/// Posts a restopos webhook to the server at `base`, signed at `ts`.
pub(crate) async fn restopos_request(
    base: &str,
    account: &str,
    secret: &str,
    (topic, body, event_id): (&str, &str, &str),
    ts: i64,
) -> reqwest::Response {
    let mut msg = format!("{ts}.").into_bytes();
    msg.extend_from_slice(body.as_bytes());
    reqwest::Client::new()
        .post(format!(
            "{base}/v1/integrations/pos/restopos/webhooks/{topic}"
        ))
        .header("X-Restopos-Account", account)
        .header("X-Restopos-Timestamp", ts.to_string())
        .header(
            "X-Restopos-Signature",
            sign(Digest::Sha256, Encoding::Hex, secret.as_bytes(), &msg),
        )
        .header("X-Restopos-Event-Id", event_id)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// Posts a restopos webhook signed now and answers its JSON.
pub(crate) async fn post_restopos(
    base: &str,
    account: &str,
    secret: &str,
    topic: &str,
    body: &str,
    event_id: &str,
) -> Value {
    restopos_request(base, account, secret, (topic, body, event_id), now())
        .await
        .json()
        .await
        .unwrap()
}

/// Awaits a request and asserts it succeeded.
async fn expect_ok(sent: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>) {
    let resp = sent.await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) const MENU: &str = r#"{"store_id":"outlet-7","items":[{"sku":"NG-01","name":"Nasi goreng","category":"Mains","price":"35000","currency":"IDR"}]}"#;

async fn signed_deliveries_are_stored_and_acknowledged(app: TestApp) {
    let pos = Pos::new(&app).await;
    let resp = pos.post("menu", MENU, "evt-1").await;
    assert_eq!(resp.status(), 200);
    let ack: Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
    let id = ack["event_id"].as_str().unwrap().to_string();

    let events = pos.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["id"], id.as_str());
    assert_eq!(events[0]["topic"], "menu");
    assert_eq!(events[0]["provider"], "restopos");
    assert_eq!(events[0]["body_size"], MENU.len());

    // The other topics of the family work the same way.
    let status = r#"{"store_id":"outlet-7","status":"closed","reason":"renovation"}"#;
    assert_eq!(
        pos.post("store-status", status, "evt-2").await.status(),
        200
    );
    let inventory = r#"{"store_id":"outlet-7","items":[{"sku":"NG-01","available":false}]}"#;
    assert_eq!(
        pos.post("inventory", inventory, "evt-3").await.status(),
        200
    );
    assert_eq!(pos.events().await.len(), 3);

    // Unknown providers and topics are 404 in the envelope.
    let resp = reqwest::Client::new()
        .post(app.url("/v1/integrations/pos/nobody/webhooks/menu"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let resp = pos.post("stock", MENU, "evt-4").await;
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
}

async fn unauthenticated_deliveries_are_refused_with_invalid_signature(app: TestApp) {
    let pos = Pos::new(&app).await;
    // Wrong secret, stale timestamp, tampered body, unknown account, nothing at all.
    let wrong = pos
        .post_signed("menu", MENU, "e1", now(), "not-the-secret")
        .await;
    let stale = pos
        .post_signed("menu", MENU, "e2", now() - 3600, &pos.secret.clone())
        .await;
    let unknown = reqwest::Client::new()
        .post(app.url("/v1/integrations/pos/restopos/webhooks/menu"))
        .header("X-Restopos-Account", "nobody")
        .header("X-Restopos-Timestamp", now().to_string())
        .header("X-Restopos-Signature", "00")
        .body(MENU)
        .send()
        .await
        .unwrap();
    let bare = reqwest::Client::new()
        .post(app.url("/v1/integrations/pos/restopos/webhooks/menu"))
        .body(MENU)
        .send()
        .await
        .unwrap();
    for resp in [wrong, stale, unknown, bare] {
        let (status, code, _) = error_of(resp).await;
        assert_eq!((status, code.as_str()), (401, "invalid_signature"));
    }
    assert!(
        pos.events().await.is_empty(),
        "nothing unauthenticated is stored"
    );
    // The refusals are counted by cause (flushed from memory every 5 s).
    let sql = "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM inbound_auth_failures WHERE provider = 'restopos'";
    let mut counted = 0;
    for _ in 0..40 {
        counted = app.count(sql).await;
        if counted >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(counted, 4);
    let causes = app
        .count(
            "SELECT COUNT(DISTINCT reason) FROM inbound_auth_failures WHERE provider = 'restopos'",
        )
        .await;
    assert_eq!(
        causes, 3,
        "signature_mismatch, stale_timestamp, unknown_account"
    );
}

async fn repeats_are_acknowledged_as_duplicates(app: TestApp) {
    let pos = Pos::new(&app).await;
    let first: Value = pos
        .post("menu", MENU, "evt-dup")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "accepted");
    let again = pos.post("menu", MENU, "evt-dup").await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["status"], "duplicate", "{again}");
    assert_eq!(again["duplicate_of"], first["event_id"]);
    // The duplicate is recorded as such.
    let dups: Vec<Value> = pos
        .m
        .call(Method::GET, "/v1/inbound/events?status=duplicate")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0]["failure_class"], "duplicate");
    // Concurrent repeats: exactly one is accepted.
    let mut handles = Vec::new();
    for _ in 0..6 {
        let client = reqwest::Client::new();
        let ts = now();
        let mut msg = format!("{ts}.").into_bytes();
        msg.extend_from_slice(MENU.as_bytes());
        let req = client
            .post(app.url("/v1/integrations/pos/restopos/webhooks/menu"))
            .header("X-Restopos-Account", pos.account.clone())
            .header("X-Restopos-Timestamp", ts.to_string())
            .header(
                "X-Restopos-Signature",
                sign(Digest::Sha256, Encoding::Hex, pos.secret.as_bytes(), &msg),
            )
            .header("X-Restopos-Event-Id", "evt-race")
            .body(MENU);
        handles.push(tokio::spawn(async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()
        }));
    }
    let mut accepted = 0;
    for h in handles {
        if h.await.unwrap()["status"] == "accepted" {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}

async fn connections_are_validated_and_private(app: TestApp) {
    let pos = Pos::new(&app).await;
    let m = &pos.m;
    for (body, field) in [
        (json!({"provider": "nope", "account_id": "a"}), "provider"),
        (
            json!({"provider": "restopos", "account_id": " "}),
            "account_id",
        ),
        (
            json!({"provider": "restopos", "account_id": "b", "ip_allowlist": ["10.0.0.0/99"]}),
            "ip_allowlist",
        ),
    ] {
        let resp = app
            .bearer(Method::POST, "/v1/provider-connections", &m.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, code, body) = error_of(resp).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"));
        assert_eq!(body["error"]["fields"][0]["field"], field);
    }
    // The same account cannot be connected twice.
    let resp = app
        .bearer(Method::POST, "/v1/provider-connections", &m.token)
        .json(&json!({"provider": "restopos", "account_id": pos.account}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 409);
    // Secrets are never listed; another merchant sees nothing and cannot delete.
    let list = m
        .call(Method::GET, "/v1/provider-connections")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&pos.account) && !list.contains(&pos.secret));
    let other = Merchant::new(&app, "Other").await;
    let theirs: Vec<Value> = other
        .call(Method::GET, "/v1/provider-connections")
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs.is_empty());
    let id = serde_json::from_str::<Vec<Value>>(&list).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = other
        .call(Method::DELETE, &format!("/v1/provider-connections/{id}"))
        .await;
    assert_eq!(error_of(resp).await.0, 404);
    // Store mappings need the merchant's own location.
    let loc = m.location("Kemang").await;
    let resp = other
        .app
        .bearer(Method::POST, "/v1/store-mappings", &other.token)
        .json(&json!({"provider": "restopos", "provider_store_id": "outlet-7", "location_id": loc}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 404);
    let resp = app
        .bearer(Method::POST, "/v1/store-mappings", &m.token)
        .json(&json!({"provider": "restopos", "provider_store_id": "outlet-7", "location_id": loc}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A connection with an allowlist refuses other senders (the tests send
    // from 127.0.0.1).
    let fenced: Value = app
        .bearer(Method::POST, "/v1/provider-connections", &m.token)
        .json(&json!({"provider": "restopos", "account_id": format!("{}-fenced", pos.account), "ip_allowlist": ["10.9.9.0/24"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fenced_pos = Pos {
        m: Merchant {
            app: &app,
            token: m.token.clone(),
        },
        account: fenced["connection"]["account_id"]
            .as_str()
            .unwrap()
            .to_string(),
        secret: fenced["secret"].as_str().unwrap().to_string(),
    };
    let (status, code, _) = error_of(fenced_pos.post("menu", MENU, "fenced-1").await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_signature"));
    // Deleting the connection refuses its webhooks from then on.
    let resp = m
        .call(Method::DELETE, &format!("/v1/provider-connections/{id}"))
        .await;
    assert_eq!(resp.status(), 204);
    let (status, code, _) = error_of(pos.post("menu", MENU, "after-delete").await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_signature"));
}

async fn menus_availability_and_store_status_reach_the_location_catalog(app: TestApp) {
    let pos = Pos::with(&app, true).await;
    let loc = pos.m.location("Kemang").await;
    pos.map_store("outlet-7", &loc).await;

    let event = pos.deliver("menu", MENU, "m-1").await;
    assert_eq!(event["status"], "processed", "{event}");
    assert_eq!(event["location_id"], loc.as_str());
    let catalog = pos.catalog(&loc).await;
    let item = &catalog["items"][0];
    assert_eq!(item["sku"], "NG-01");
    assert_eq!(item["name"], "Nasi goreng");
    assert_eq!(item["category"], "Mains");
    assert_eq!(item["price_minor"], 3_500_000, "IDR has 2 minor digits");
    assert_eq!(item["available"], true);

    let sold_out = r#"{"store_id":"outlet-7","items":[{"sku":"NG-01","available":false}]}"#;
    assert_eq!(
        pos.deliver("inventory", sold_out, "m-2").await["status"],
        "processed"
    );
    assert_eq!(pos.catalog(&loc).await["items"][0]["available"], false);

    let closed = r#"{"store_id":"outlet-7","status":"closed","reason":"renovation"}"#;
    assert_eq!(
        pos.deliver("store-status", closed, "m-3").await["status"],
        "processed"
    );
    let catalog = pos.catalog(&loc).await;
    assert_eq!(
        (catalog["open"].clone(), catalog["closed_reason"].clone()),
        (json!(false), json!("renovation"))
    );

    // A repeat of the menu delivery changes nothing and is not processed again.
    let again: Value = pos.post("menu", MENU, "m-1").await.json().await.unwrap();
    assert_eq!(again["status"], "duplicate");
    assert_eq!(
        pos.catalog(&loc).await["items"].as_array().unwrap().len(),
        1
    );
}

async fn failures_are_classified_kept_and_replayable(app: TestApp) {
    let pos = Pos::new(&app).await;
    let loc = pos.m.location("Senopati").await;

    // Unmapped store: a mapping failure, kept with its reason.
    let event = pos.deliver("menu", MENU, "f-1").await;
    assert_eq!(
        (event["status"].as_str(), event["failure_class"].as_str()),
        (Some("failed"), Some("mapping"))
    );
    assert!(
        event["failure_reason"]
            .as_str()
            .unwrap()
            .contains("outlet-7"),
        "{event}"
    );

    // Store mapped, but the connection does not create items: unmapped SKU.
    pos.map_store("outlet-7", &loc).await;
    let sku = pos.deliver("menu", MENU, "f-2").await;
    assert_eq!(sku["failure_class"], "mapping");
    assert!(
        sku["failure_reason"].as_str().unwrap().contains("NG-01"),
        "{sku}"
    );

    // Support maps the SKU and replays both: the item appears in the
    // location's catalog.
    let resp = app
        .bearer(Method::POST, "/v1/item-mappings", &pos.m.token)
        .json(&json!({"provider": "restopos", "provider_sku": "NG-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for id in [&event["id"], &sku["id"]] {
        let replayed: Value = pos
            .m
            .call(
                Method::POST,
                &format!("/v1/inbound/events/{}/replay", id.as_str().unwrap()),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(replayed["status"], "processed", "{replayed}");
    }
    let catalog = pos.catalog(&loc).await;
    assert_eq!(catalog["items"].as_array().unwrap().len(), 1, "{catalog}");
    assert_eq!(catalog["items"][0]["name"], "Nasi goreng");
    // Replaying a processed event changes nothing.
    let again: Value = pos
        .m
        .call(
            Method::POST,
            &format!("/v1/inbound/events/{}/replay", sku["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["status"], "processed");

    // Invalid prices and malformed payloads are validation failures.
    let bad_price = r#"{"store_id":"outlet-7","items":[{"sku":"NG-01","name":"Nasi","price":"12.345","currency":"IDR"}]}"#;
    let v = pos.deliver("menu", bad_price, "f-3").await;
    assert_eq!(v["failure_class"], "validation");
    assert!(
        v["failure_reason"].as_str().unwrap().contains("decimals"),
        "{v}"
    );
    let bad_currency = r#"{"store_id":"outlet-7","items":[{"sku":"NG-01","name":"Nasi","price":"1","currency":"RUPIAH"}]}"#;
    assert_eq!(
        pos.deliver("menu", bad_currency, "f-4").await["failure_class"],
        "validation"
    );
    let malformed = pos.deliver("menu", r#"{"store":1}"#, "f-5").await;
    assert_eq!(malformed["failure_class"], "validation");
    let failed: Vec<Value> = pos
        .m
        .call(Method::GET, "/v1/inbound/events?status=failed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed.len(), 3, "every failure is kept");
    assert_eq!(
        pos.catalog(&loc).await["items"][0]["price_minor"],
        3_500_000,
        "bad updates changed nothing"
    );
    let resp = pos
        .m
        .call(
            Method::POST,
            &format!("/v1/inbound/events/{}/replay", uuid::Uuid::new_v4()),
        )
        .await;
    assert_eq!(error_of(resp).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_deliveries_survive_a_crash_and_are_processed_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // First life: acknowledge only (processing off), then SIGKILL.
    let first = Process::start(
        dir.path(),
        port,
        &[("PLUGBOARD_INBOUND_PROCESSING", "false")],
    )
    .await;
    let token = first.merchant_token("Crashy", "crash@example.com").await;
    let api = |method: Method, path: &str| {
        reqwest::Client::new()
            .request(method, format!("{}{path}", first.url))
            .bearer_auth(&token)
    };
    let loc: Value = api(Method::POST, "/v1/locations")
        .json(&crate::helpers::location("Kota"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loc = loc["id"].as_str().unwrap().to_string();
    let conn: Value = api(Method::POST, "/v1/provider-connections")
        .json(&json!({"provider": "restopos", "account_id": "crash-acct", "allow_new_items": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = conn["secret"].as_str().unwrap().to_string();
    let resp = api(Method::POST, "/v1/store-mappings")
        .json(&json!({"provider": "restopos", "provider_store_id": "s-1", "location_id": loc}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let n = 60;
    let mut calls = Vec::new();
    for i in 0..n {
        let body = format!(
            r#"{{"store_id":"s-1","items":[{{"sku":"SKU-{i}","name":"Item {i}","price":"{i}000","currency":"IDR"}}]}}"#
        );
        let ts = now();
        let mut msg = format!("{ts}.").into_bytes();
        msg.extend_from_slice(body.as_bytes());
        let req = reqwest::Client::new()
            .post(format!(
                "{}/v1/integrations/pos/restopos/webhooks/menu",
                first.url
            ))
            .header("X-Restopos-Account", "crash-acct")
            .header("X-Restopos-Timestamp", ts.to_string())
            .header(
                "X-Restopos-Signature",
                sign(Digest::Sha256, Encoding::Hex, secret.as_bytes(), &msg),
            )
            .header("X-Restopos-Event-Id", format!("crash-{i}"))
            .body(body);
        calls.push(tokio::spawn(async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()
        }));
    }
    for c in calls {
        assert_eq!(c.await.unwrap()["status"], "accepted");
    }
    first.kill();

    // Second life: every acknowledged delivery is processed.
    let second = Process::start(dir.path(), port, &[]).await;
    let api = |path: String| {
        reqwest::Client::new()
            .get(format!("{}{path}", second.url))
            .bearer_auth(&token)
    };
    let mut processed = 0;
    for _ in 0..200 {
        let events: Vec<Value> = api("/v1/inbound/events?limit=500".into())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(events.len(), n, "every acknowledged delivery is there");
        processed = events.iter().filter(|e| e["status"] == "processed").count();
        if processed == n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(processed, n);
    let catalog: Value = api(format!("/v1/locations/{loc}/catalog"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["items"].as_array().unwrap().len(), n);
}

async fn erp_stock_deltas_and_seller_imports_update_the_catalog(app: TestApp) {
    let pos = Pos::with(&app, true).await;
    let m = &pos.m;
    let loc = m.location("Gudang").await;
    pos.map_store("outlet-7", &loc).await;
    assert_eq!(
        pos.deliver("menu", MENU, "e-1").await["status"],
        "processed"
    );
    let item_id = pos.catalog(&loc).await["items"][0]["item_id"].clone();

    // The warehouse system: its own connection, warehouse → location, and
    // its SKU mapped to the same item.
    let post_json = |path: &'static str, body: Value| {
        app.bearer(Method::POST, path, &m.token).json(&body).send()
    };
    let wms: Value = post_json(
        "/v1/provider-connections",
        json!({"provider": "wms", "account_id": format!("wms-{}", uuid::Uuid::new_v4().simple())}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let wms_secret = wms["secret"].as_str().unwrap().to_string();
    let wms_account = wms["connection"]["account_id"]
        .as_str()
        .unwrap()
        .to_string();
    expect_ok(post_json(
        "/v1/store-mappings",
        json!({"provider": "wms", "provider_store_id": "wh-1", "location_id": loc}),
    ))
    .await;
    expect_ok(post_json(
        "/v1/item-mappings",
        json!({"provider": "wms", "provider_sku": "W-NG", "item_id": item_id}),
    ))
    .await;
    let send = |body: String| {
        let sig = sign(
            Digest::Sha1,
            Encoding::Base64,
            wms_secret.as_bytes(),
            body.as_bytes(),
        );
        reqwest::Client::new()
            .post(app.url("/v1/integrations/erp/wms/webhooks/stock"))
            .header("X-Wms-Account", wms_account.clone())
            .header("X-Wms-Signature", sig)
            .body(body)
            .send()
    };
    let stock = |id: &str, delta: &str| {
        send(format!(
            r#"{{"movement_id":"{id}","warehouse_id":"wh-1","movements":[{{"sku":"W-NG","delta":"{delta}","unit":"pcs"}}]}}"#
        ))
    };
    for (id, delta) in [("mv-1", "10"), ("mv-2", "-3"), ("mv-2", "-3")] {
        let ack: Value = stock(id, delta).await.unwrap().json().await.unwrap();
        assert!(
            ack["status"] == "accepted" || ack["status"] == "duplicate",
            "{ack}"
        );
        if ack["status"] == "accepted" {
            pos.settled(ack["event_id"].as_str().unwrap()).await;
        }
    }
    let level = pos.catalog(&loc).await["items"][0]["stock_level"].as_f64();
    assert_eq!(
        level,
        Some(7.0),
        "10 − 3, the repeated movement counted once"
    );

    // A large delivery is applied in chunks (500 commands per commit) and
    // counts its progress towards its total.
    let movements: Vec<Value> = (0..1200)
        .map(|_| json!({"sku": "W-NG", "delta": "1", "unit": "pcs"}))
        .collect();
    let big = json!({"movement_id": "mv-big", "warehouse_id": "wh-1", "movements": movements});
    let ack: Value = send(big.to_string()).await.unwrap().json().await.unwrap();
    let big_id = ack["event_id"].as_str().unwrap().to_string();
    let event = pos.settled(&big_id).await;
    assert_eq!(
        (
            event["status"].as_str(),
            event["commands_applied"].as_i64(),
            event["commands_total"].as_i64()
        ),
        (Some("processed"), Some(1200), Some(1200)),
        "{event}"
    );
    let level = || async { pos.catalog(&loc).await["items"][0]["stock_level"].as_f64() };
    assert_eq!(level().await, Some(1207.0));
    // A crash after two of its three chunks leaves it received with 1,000
    // commands committed: the retry applies the last 200 only, never a
    // committed chunk twice.
    let crashed = app
        .count(
            "UPDATE inbound_events SET status = 'received', commands_applied = 1000, \
             claimed_until = NULL, processed_at = NULL WHERE commands_total = 1200 RETURNING CAST(1 AS BIGINT)",
        )
        .await;
    assert_eq!(crashed, 1);
    let event = pos.settled(&big_id).await;
    assert_eq!(event["commands_applied"], 1200, "{event}");
    assert_eq!(level().await, Some(1407.0), "1,207 + the last 200 deltas");

    // A seller feed: thousands of rows in one call.
    let seller: Value = post_json(
        "/v1/provider-connections",
        json!({"provider": "sellerfeed", "account_id": format!("brand-{}", uuid::Uuid::new_v4().simple()), "allow_new_items": true}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let shop = m.location("Online shop").await;
    expect_ok(post_json(
        "/v1/store-mappings",
        json!({"provider": "sellerfeed", "provider_store_id": "shop", "location_id": shop}),
    ))
    .await;
    let mut rows: Vec<Value> = (0..2000)
        .map(|i| json!({"sku": format!("B-{i}"), "name": format!("Product {i}"), "category": "Drinks", "price": format!("{}.50", i + 1), "currency": "SGD", "unit": "bottle"}))
        .collect();
    // The same SKU twice in one feed: the last row wins.
    rows.push(
        json!({"sku": "B-0", "name": "Product 0 (renamed)", "price": "9", "currency": "SGD"}),
    );
    let feed = json!({"feed_id": "feed-1", "store_id": "shop", "rows": rows}).to_string();
    let resp = reqwest::Client::new()
        .post(app.url("/v1/integrations/seller/sellerfeed/import"))
        .header(
            "X-Seller-Account",
            seller["connection"]["account_id"].as_str().unwrap(),
        )
        .header("X-Api-Key", seller["secret"].as_str().unwrap())
        .body(feed)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ack: Value = resp.json().await.unwrap();
    let event = pos.settled(ack["event_id"].as_str().unwrap()).await;
    assert_eq!(event["status"], "processed", "{event}");
    assert_eq!(
        event["commands_applied"], 2001,
        "every row, the repeat included"
    );
    assert_eq!(event["in_progress"], false);
    let catalog = pos.catalog(&shop).await;
    let items = catalog["items"].as_array().unwrap();
    assert_eq!(items.len(), 2000);
    let renamed = items.iter().find(|i| i["sku"] == "B-0").unwrap();
    assert_eq!(renamed["name"], "Product 0 (renamed)");
    assert_eq!(renamed["category"], "Uncategorised", "assigned when absent");
    let wrong_key = reqwest::Client::new()
        .post(app.url("/v1/integrations/seller/sellerfeed/import"))
        .header(
            "X-Seller-Account",
            seller["connection"]["account_id"].as_str().unwrap(),
        )
        .header("X-Api-Key", "guess")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(wrong_key).await.1, "invalid_signature");
}

async fn variants_are_mapped_and_updates_need_the_item_listed(app: TestApp) {
    let pos = Pos::with(&app, true).await;
    let loc = pos.m.location("Variants").await;
    pos.map_store("outlet-7", &loc).await;
    let menu = r#"{"store_id":"outlet-7","items":[{"sku":"KOPI","name":"Kopi susu","price":"25000","currency":"IDR",
        "variants":[{"id":"KOPI-L","name":"Large","price":"30000"},{"id":"KOPI-ICE","name":"Iced","price":28000,"available":false}]}]}"#;
    assert_eq!(
        pos.deliver("menu", menu, "v-1").await["status"],
        "processed"
    );
    let catalog = pos.catalog(&loc).await;
    let variants = catalog["items"][0]["variants"].as_array().unwrap().clone();
    assert_eq!(variants.len(), 2, "{catalog}");
    let iced = variants
        .iter()
        .find(|v| v["provider_variant_id"] == "KOPI-ICE")
        .unwrap();
    assert_eq!(
        (iced["price"].as_str(), iced["available"].as_bool()),
        (Some("28000.00"), Some(false))
    );
    // A new price for a known variant updates it in place (same variant id).
    let menu2 = menu.replace(r#""price":"30000""#, r#""price":"32000""#);
    assert_eq!(
        pos.deliver("menu", &menu2, "v-2").await["status"],
        "processed"
    );
    let again = pos.catalog(&loc).await;
    let large: Vec<&Value> = again["items"][0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["provider_variant_id"] == "KOPI-L")
        .collect();
    assert_eq!(large.len(), 1);
    assert_eq!(large[0]["price_minor"], 3_200_000);
    let first_large = variants
        .iter()
        .find(|v| v["provider_variant_id"] == "KOPI-L")
        .unwrap();
    assert_eq!(large[0]["variant_id"], first_large["variant_id"]);
    let commands = app
        .count("SELECT COUNT(*) FROM outbox WHERE topic = 'catalog.commands' AND CAST(payload AS TEXT) LIKE '%UpsertVariant%'")
        .await;
    assert_eq!(commands, 4, "two variants, twice");

    // An availability update for an item this location does not list is a
    // mapping failure, not a silent no-op.
    let other = pos.m.location("Elsewhere").await;
    pos.map_store("outlet-8", &other).await;
    let inv = r#"{"store_id":"outlet-8","items":[{"sku":"KOPI","available":false}]}"#;
    let failed = pos.deliver("inventory", inv, "v-3").await;
    assert_eq!(failed["failure_class"], "mapping", "{failed}");
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("not on the catalog"),
        "{failed}"
    );

    // Without new items allowed, an unknown variant is a mapping failure.
    let strict = Pos::new(&app).await;
    let sloc = strict.m.location("Strict").await;
    strict.map_store("outlet-7", &sloc).await;
    let resp = app
        .bearer(Method::POST, "/v1/item-mappings", &strict.m.token)
        .json(&json!({"provider": "restopos", "provider_sku": "KOPI"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v = strict.deliver("menu", menu, "v-4").await;
    assert_eq!(v["failure_class"], "mapping", "{v}");
    assert!(
        v["failure_reason"].as_str().unwrap().contains("KOPI-L"),
        "{v}"
    );
    // Map both variants by API, replay: processed.
    let items: Vec<Value> = strict
        .m
        .call(Method::GET, "/v1/item-mappings")
        .await
        .json()
        .await
        .unwrap();
    let item_id = items[0]["item_id"].clone();
    for id in ["KOPI-L", "KOPI-ICE"] {
        let resp = app
            .bearer(Method::POST, "/v1/variant-mappings", &strict.m.token)
            .json(&json!({"provider": "restopos", "provider_variant_id": id, "item_id": item_id}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let listed: Vec<Value> = strict
        .m
        .call(Method::GET, "/v1/variant-mappings")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    // Another merchant's item cannot take a variant.
    let resp = app
        .bearer(Method::POST, "/v1/variant-mappings", &strict.m.token)
        .json(&json!({"provider": "restopos", "provider_variant_id": "X", "item_id": catalog["items"][0]["item_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 404);
    let replayed: Value = strict
        .m
        .call(
            Method::POST,
            &format!("/v1/inbound/events/{}/replay", v["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed["status"], "processed", "{replayed}");
    let strict_catalog = strict.catalog(&sloc).await;
    assert_eq!(
        strict_catalog["items"][0]["variants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// Calls a server function with `client` (signed in as some merchant);
/// answers the status and the JSON body.
async fn server_fn(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let resp = client
        .post(app.url(&format!("/api/{name}")))
        .header("Origin", app.origin())
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn merchants_map_variants_on_the_inbound_page(app: TestApp) {
    app.sign_up("Warung Varian", "varian@example.com").await;
    let me = &app.client;
    let (status, item) = server_fn(
        &app,
        me,
        "add_item_mapping",
        &[("provider", "restopos"), ("provider_sku", "KOPI")],
    )
    .await;
    assert_eq!(status, 200, "{item}");
    let item_id = item["item_id"].as_str().unwrap().to_string();

    let (status, mapped) = server_fn(
        &app,
        me,
        "add_variant_mapping",
        &[
            ("provider", "restopos"),
            ("provider_variant_id", " KOPI-L "),
            ("item_id", &item_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{mapped}");
    assert_eq!(mapped["provider_variant_id"], "KOPI-L");
    assert!(mapped["variant_id"].is_string(), "{mapped}");
    let (_, overview) = server_fn(&app, me, "load_inbound", &[]).await;
    assert_eq!(
        overview["variant_mappings"],
        json!([mapped]),
        "the page lists it"
    );

    // Form mistakes name their field; an unknown item is not found.
    for (variant, item, field) in [
        ("", item_id.as_str(), "provider_variant_id"),
        ("KOPI-M", "", "item_id"),
    ] {
        let (status, body) = server_fn(
            &app,
            me,
            "add_variant_mapping",
            &[
                ("provider", "restopos"),
                ("provider_variant_id", variant),
                ("item_id", item),
            ],
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["InvalidRequest"]["fields"][0]["field"], field,
            "{body}"
        );
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, body) = server_fn(
        &app,
        me,
        "add_variant_mapping",
        &[
            ("provider", "restopos"),
            ("provider_variant_id", "KOPI-M"),
            ("item_id", &unknown),
        ],
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // Another merchant's item cannot take a variant, and its mappings are
    // not on this merchant's page.
    let other = app.other_browser("Warung Lain").await;
    let (_, theirs) = server_fn(
        &app,
        &other,
        "add_item_mapping",
        &[("provider", "restopos"), ("provider_sku", "TEH")],
    )
    .await;
    let their_item = theirs["item_id"].as_str().unwrap().to_string();
    let (status, body) = server_fn(
        &app,
        me,
        "add_variant_mapping",
        &[
            ("provider", "restopos"),
            ("provider_variant_id", "TEH-L"),
            ("item_id", &their_item),
        ],
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (_, theirs) = server_fn(&app, &other, "load_inbound", &[]).await;
    assert_eq!(theirs["variant_mappings"], json!([]), "{theirs}");
}
