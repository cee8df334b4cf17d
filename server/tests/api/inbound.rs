//! The inbound gateway's synchronous path: verify, store, acknowledge —
//! against a real server on SQLite and PostgreSQL.
use app::domain::inbound::verify::{sign, Digest, Encoding};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, Merchant, TestApp};
use crate::on_both_backends;

on_both_backends!(
    signed_deliveries_are_stored_and_acknowledged,
    unauthenticated_deliveries_are_refused_with_invalid_signature,
    repeats_are_acknowledged_as_duplicates,
    connections_are_validated_and_private,
);

struct Pos<'a> {
    m: Merchant<'a>,
    account: String,
    secret: String,
}

impl<'a> Pos<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let m = Merchant::new(app, "Warung Inbound").await;
        let account = format!("acct-{}", uuid::Uuid::new_v4().simple());
        let resp = m
            .app
            .bearer(Method::POST, "/v1/provider-connections", &m.token)
            .json(&json!({"provider": "restopos", "account_id": account}))
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
    async fn post_signed(
        &self,
        topic: &str,
        body: &str,
        event_id: &str,
        ts: i64,
        secret: &str,
    ) -> reqwest::Response {
        let mut msg = format!("{ts}.").into_bytes();
        msg.extend_from_slice(body.as_bytes());
        reqwest::Client::new()
            .post(
                self.m
                    .app
                    .url(&format!("/v1/integrations/pos/restopos/webhooks/{topic}")),
            )
            .header("X-Restopos-Account", &self.account)
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

    async fn post(&self, topic: &str, body: &str, event_id: &str) -> reqwest::Response {
        self.post_signed(topic, body, event_id, now(), &self.secret.clone())
            .await
    }

    async fn events(&self) -> Vec<Value> {
        self.m
            .call(Method::GET, "/v1/inbound/events")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

const MENU: &str = r#"{"store_id":"outlet-7","items":[{"sku":"NG-01","name":"Nasi goreng","category":"Mains","price":"35000","currency":"IDR"}]}"#;

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
    // Deleting the connection refuses its webhooks from then on.
    let resp = m
        .call(Method::DELETE, &format!("/v1/provider-connections/{id}"))
        .await;
    assert_eq!(resp.status(), 204);
    let (status, code, _) = error_of(pos.post("menu", MENU, "after-delete").await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_signature"));
}
