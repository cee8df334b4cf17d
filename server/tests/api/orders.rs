//! Orders: dispatch validation and persistence, the built-in transformer
//! path to a fake Revel that speaks Revel's shapes, the order status
//! service's state machine, Revel's status webhook (seed 002's five
//! branches and more), and receipt_qr attachments from add-mode installs.
use std::path::Path;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};
use crate::on_both_backends;
use crate::receiver::Receiver;
use crate::webhooks::{order, Shop};

on_both_backends!(revel_round_trip_dispatch_then_finalized,);

/// The repository's own scripts, deployed with the real CLI.
fn deploy_scripts(app: &TestApp) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/adapters");
    let out = app.cli(&["scripts", "deploy", "--dir", dir.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const WEBHOOK_SECRET: &str = "revel-webhook-secret-0001";

/// Installs Revel at the shop's location against a fake Revel.
async fn install_revel(shop: &Shop<'_>, revel: &Receiver) {
    shop.m
        .installed(
            "revel",
            Some(&shop.location),
            json!({
                "base_url": revel.url(""),
                "api_key": "rk_live_1",
                "api_secret": "rs_live_1",
                "establishment_id": 42,
                "webhook_secret": WEBHOOK_SECRET,
                "pickup_dining_option": 3,
                "delivery_dining_option": 4
            }),
        )
        .await;
}

fn revel_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Posts a Revel webhook; answers (status, body).
async fn revel_webhook(
    app: &TestApp,
    event: &str,
    establishment: &str,
    body: &Value,
    signature: Option<String>,
) -> (u16, Value) {
    let raw = serde_json::to_vec(body).unwrap();
    let resp = app
        .client
        .post(app.url("/api/v1/inbound/revel/order-status"))
        .header("content-type", "application/json")
        .header("X-Revel-Event-Type", event)
        .header("X-Revel-Establishment-Id", establishment)
        .header(
            "X-Revel-Signature",
            signature.unwrap_or_else(|| revel_signature(&raw)),
        )
        .body(raw)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn revel_round_trip_dispatch_then_finalized(app: TestApp) {
    let shop = Shop::new(&app, "Warung Revel").await;
    let revel = Receiver::start().await;
    revel.otherwise(200, r#"{"status":"OK","result":{"order_id":555}}"#);
    install_revel(&shop, &revel).await;

    // No script deployed yet: the webhook answers 500 no_active_script.
    let finalized = json!({"id": 555, "dining_option": 3, "updated_date": "2026-12-02T10:00:00"});
    let (status, body) = revel_webhook(&app, "order.finalized", "42", &finalized, None).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "no_active_script");
    deploy_scripts(&app);
    // Each process trusts its copy of which script is active for 2 s; the
    // deploy ran in another process (docs/scripts.md).
    tokio::time::sleep(app::domain::scripts::ACTIVE_CACHE + Duration::from_millis(100)).await;

    // Path 2: the transformer rewrites the order into Revel's cart submit.
    let answer = shop
        .dispatch("ORD-REVEL-1", json!({"builtInTransformer": "revel"}))
        .await;
    assert_eq!(answer["dispatched"], true, "{answer}");
    assert_eq!(answer["externalOrderId"], "555");
    assert_eq!(answer["code"], 200);
    assert_eq!(answer["isSuccess"], true);
    let sent = revel.captured();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/specialresources/cart/submit/");
    assert_eq!(sent[0].header("api-authentication"), "rk_live_1:rs_live_1");
    assert!(
        sent[0].headers.get("x-cata-signature").is_none(),
        "no HMAC headers on path 2"
    );
    let cart: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(cart["establishmentId"], 42);
    assert_eq!(cart["items"][0]["product"], 101);
    assert_eq!(cart["items"][0]["quantity"], 2);
    assert_eq!(cart["orderInfo"]["dining_option"], 3);
    assert_eq!(cart["orderInfo"]["transaction_id"], "plugboard-ORD-REVEL-1");
    let order_id = answer["orderId"].as_str().unwrap().to_string();

    // Seed 002's branches.
    let (status, body) = revel_webhook(&app, "order.finalized", "42", &finalized, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["previousStatus"], "PAID");
    assert_eq!(body["currentStatus"], "COMPLETED");
    // The same webhook again: idempotent.
    let (status, body) = revel_webhook(&app, "order.finalized", "42", &finalized, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["changed"], false);

    let dine_in = json!({"id": 556, "dining_option": 9});
    let (status, body) = revel_webhook(&app, "order.finalized", "42", &dine_in, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "skipped");
    assert!(body["reason"].as_str().unwrap().contains("dining option 9"));

    let unknown = json!({"id": 999_999, "dining_option": 3});
    let (status, body) = revel_webhook(&app, "order.finalized", "42", &unknown, None).await;
    assert_eq!(status, 200, "unknown orders are acknowledged silently");
    assert_eq!(body["status"], "ignored");

    let (status, body) = revel_webhook(
        &app,
        "order.finalized",
        "42",
        &finalized,
        Some("00".repeat(20)),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_signature");
    let (status, _) = revel_webhook(&app, "order.finalized", "77", &finalized, None).await;
    assert_eq!(status, 401, "an establishment no outlet has");

    let (status, body) = revel_webhook(&app, "order.created", "42", &finalized, None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_request");

    // A payload the script cannot read: 5xx so Revel retries.
    let (status, body) = revel_webhook(
        &app,
        "order.finalized",
        "42",
        &json!({"nothing": true}),
        None,
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["code"], "transform_failed");

    let o = shop.get(&format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(o["order"]["status"], "COMPLETED");
    let history: Vec<&str> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(history, vec!["PAID", "COMPLETED"]);
    assert_eq!(o["history"][1]["source"], "revel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revel_failures_carry_the_seeds_reasons() {
    let app = TestApp::sqlite().await;
    let shop = Shop::new(&app, "Warung Revel Errors").await;
    let revel = Receiver::start().await;
    install_revel(&shop, &revel).await;
    deploy_scripts(&app);

    revel.script(&[
        (200, r#"{"status":"ERROR","error":{"code":"E1","details":{"message":"Invalid product 101"}}}"#),
        (400, "establishment closed"),
    ]);
    let a = shop
        .dispatch("ORD-RE-1", json!({"builtInTransformer": "revel"}))
        .await;
    assert_eq!(a["dispatched"], false);
    assert_eq!(
        a["reason"],
        "POS returned 2xx but body indicated error: Invalid product 101"
    );
    let b = shop
        .dispatch("ORD-RE-2", json!({"builtInTransformer": "revel"}))
        .await;
    assert_eq!(b["reason"], "POS returned HTTP 400: establishment closed");

    // A POS that is not there at all.
    let down = shop
        .dispatch(
            "ORD-RE-3",
            json!({"builtInTransformer": "revel", "outletId": shop.m.location("Ubud").await}),
        )
        .await;
    assert_eq!(down["dispatched"], false);
    assert_eq!(
        down["reason"],
        "no dispatch route configured for this outlet/provider"
    );

    // Every dispatch is persisted, failed ones included.
    let list = shop.get("/api/v1/orders").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    let failed = shop
        .get(&format!(
            "/api/v1/orders/{}",
            a["orderId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(failed["order"]["dispatchReason"], a["reason"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transport_failure_is_reported_as_such() {
    let app = TestApp::sqlite().await;
    let shop = Shop::new(&app, "Warung Gone").await;
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    shop.register(json!({"url": format!("http://127.0.0.1:{port}/hook")}))
        .await;
    let a = shop.dispatch("ORD-GONE-1", json!({})).await;
    assert_eq!(a["dispatched"], false);
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .starts_with("http request failed: "),
        "{a}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_orders_are_refused_before_anything_is_stored_or_sent() {
    let app = TestApp::sqlite().await;
    let shop = Shop::new(&app, "Warung Strict Orders").await;
    let rx = Receiver::start().await;
    shop.register(json!({"url": rx.url("/h")})).await;
    let mut bad_currency = order("ORD-BAD-1");
    bad_currency["currency"] = json!("XYZ");
    let mut no_items = order("ORD-BAD-2");
    no_items["items"] = json!([]);
    let mut bad_item = order("ORD-BAD-3");
    bad_item["items"][0]["quantity"] = json!(0);
    bad_item["items"][1]["price"] = json!("12.5.0");
    let mut no_id = order("x");
    no_id.as_object_mut().unwrap().remove("id");
    for (body, field) in [
        (
            json!({"outletId": shop.location, "event": "order.paid", "order": bad_currency}),
            "order.currency",
        ),
        (
            json!({"outletId": shop.location, "event": "order.paid", "order": no_items}),
            "order.items",
        ),
        (
            json!({"outletId": shop.location, "event": "order.paid", "order": bad_item}),
            "order.items[0].quantity",
        ),
        (
            json!({"outletId": shop.location, "event": "order.paid", "order": no_id}),
            "order.id",
        ),
        (
            json!({"outletId": shop.location, "event": "order.eaten", "order": order("ORD-BAD-5")}),
            "event",
        ),
        (
            json!({"outletId": shop.location, "event": "order.paid", "order": order("ORD-BAD-6"), "builtInTransformer": "lightspeed"}),
            "builtInTransformer",
        ),
        (
            json!({"outletId": shop.location, "event": "order.paid", "order": "not an object"}),
            "order",
        ),
    ] {
        let resp = app
            .bearer(Method::POST, "/api/v1/orders/dispatch", &shop.m.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, code, err) = error_of(resp).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"), "{err}");
        let fields: Vec<&str> = err["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} in {err}");
    }
    // Malformed JSON and an unknown outlet.
    let resp = app
        .bearer(Method::POST, "/api/v1/orders/dispatch", &shop.m.token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 400);
    let resp = app
        .bearer(Method::POST, "/api/v1/orders/dispatch", &shop.m.token)
        .json(&json!({"outletId": uuid::Uuid::new_v4(), "event": "order.paid", "order": order("ORD-BAD-7")}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.captured().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_follow_the_state_machine() {
    let app = TestApp::sqlite().await;
    let shop = Shop::new(&app, "Warung Status").await;
    let answer = shop.dispatch("ORD-ST-1", json!({})).await;
    assert_eq!(
        answer["dispatched"], false,
        "no route yet; the order is kept"
    );
    let id = answer["orderId"].as_str().unwrap().to_string();
    let push = |body: Value| {
        let app = &app;
        let token = shop.m.token.clone();
        let id = id.clone();
        async move {
            app.bearer(Method::POST, &format!("/api/v1/orders/{id}/status"), &token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let ok: Value = push(json!({"status": "ACCEPTED", "version": 1}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["previousStatus"], "PAID");
    assert_eq!(ok["currentStatus"], "ACCEPTED");
    assert_eq!(ok["version"], 2);
    assert_eq!(ok["changed"], true);
    // The same transition twice: 200, no change, even with the old version.
    let again: Value = push(json!({"status": "accepted", "version": 1}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["changed"], false);
    assert_eq!(again["version"], 2);
    let (status, code, _) = error_of(push(json!({"status": "READY", "version": 1})).await).await;
    assert_eq!((status, code.as_str()), (409, "stale_version"));
    let ready: Value = push(json!({"status": "READY", "version": 2}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ready["currentStatus"], "READY");
    let (status, code, _) = error_of(push(json!({"status": "PREPARING"})).await).await;
    assert_eq!((status, code.as_str()), (409, "invalid_transition"));
    let (status, code, _) = error_of(push(json!({"status": "PAID"})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "invalid_request"),
        "partners cannot mark orders paid"
    );
    let (status, _, _) = error_of(push(json!({"status": "EATEN"})).await).await;
    assert_eq!(status, 400);
    let done: Value = push(json!({"status": "COMPLETED"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["currentStatus"], "COMPLETED");
    let (status, code, _) = error_of(push(json!({"status": "CANCELLED"})).await).await;
    assert_eq!((status, code.as_str()), (409, "invalid_transition"));
    let resp = app
        .bearer(
            Method::POST,
            &format!("/api/v1/orders/{}/status", uuid::Uuid::new_v4()),
            &shop.m.token,
        )
        .json(&json!({"status": "READY"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 404);
    let o = shop.get(&format!("/api/v1/orders/{id}")).await;
    let history: Vec<&str> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(history, vec!["PAID", "ACCEPTED", "READY", "COMPLETED"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_gets_receipt_qr_attachments_from_enabled_add_mode_installs() {
    let app = TestApp::sqlite().await;
    let out = app.cli(
        &["platform-secrets", "rotate", "--integration", "spliteasy"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .map(|s| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap()
        })
        .expect("secret printed");
    let shop = Shop::new(&app, "Warung Receipt").await;
    shop.m
        .installed(
            "spliteasy",
            Some(&shop.location),
            json!({"qr_label": "Split it"}),
        )
        .await;
    shop.m
        .installed("google-reviews", None, json!({"place_id": "ChIJ-demo"}))
        .await;
    let nps = shop
        .m
        .installed(
            "nps-pulse",
            Some(&shop.location),
            json!({"api_key": "nps-key-123", "survey_id": "S1"}),
        )
        .await;
    // A disabled install is never called.
    let resp = shop
        .m
        .call(
            Method::POST,
            &format!("/v1/installs/{}/disable", nps["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(resp.status(), 200);

    let answer = shop.dispatch("ORD-RCPT-1", json!({})).await;
    let id = answer["orderId"].as_str().unwrap().to_string();
    let mut receipt = Value::Null;
    for _ in 0..200 {
        receipt = shop.get(&format!("/api/v1/orders/{id}/receipt")).await;
        if !receipt["attachments"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attachments = receipt["attachments"].as_array().unwrap();
    let slugs: Vec<&str> = attachments
        .iter()
        .map(|a| a["integration"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["spliteasy", "google-reviews"], "{receipt}");
    assert_eq!(attachments[0]["label"], "Split it");
    let url = attachments[0]["content"].as_str().unwrap();
    let token = url.split("t=").nth(1).expect("a token in the QR URL");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["spliteasy"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(&secret),
        &validation,
    )
    .expect("SplitEasy can verify the token with the platform secret")
    .claims;
    assert_eq!(claims["order_id"], id.as_str());
    // IDR has two minor digits (ISO 4217): 75,000.00 is 7,500,000.
    assert_eq!(claims["amount_minor"], 7_500_000);
    assert_eq!(claims["currency"], "IDR");
    assert_eq!(claims["capability"], "receipt_qr");
    assert!(attachments[1]["content"]
        .as_str()
        .unwrap()
        .contains("placeid=ChIJ-demo"));
    // The order page's detail carries the receipt too.
    let o = shop.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(o["receipt"]["attachments"].as_array().unwrap().len(), 2);
}
