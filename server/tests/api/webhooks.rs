//! The delivery engine against real receivers on loopback: registration,
//! the three signature formats verified by independent code (and the
//! Standard Webhooks library partners use), rotation, retries on a
//! compressed clock, body-level errors, resend, auto-disable, per-order
//! ordering and the address policy.
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, Merchant, TestApp};
use crate::on_both_backends;
use crate::receiver::{Captured, Receiver};

on_both_backends!(every_format_is_signed_over_the_exact_bytes,);

/// HMAC-SHA256 of `body` under `secret`, hex: the partner's own code.
fn hmac_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether one of the comma-separated `sha256=` signatures matches.
pub(crate) fn signed_by(header: &str, secret: &str, body: &[u8]) -> bool {
    let want = format!("sha256={}", hmac_hex(secret.as_bytes(), body));
    header.split(',').any(|s| s.trim() == want)
}

/// A merchant with one location.
pub struct Shop<'a> {
    pub m: Merchant<'a>,
    pub location: String,
}

impl<'a> Shop<'a> {
    pub async fn new(app: &'a TestApp, name: &str) -> Self {
        let m = Merchant::new(app, name).await;
        let location = m.location("Senopati").await;
        Shop { m, location }
    }

    /// Registers an endpoint; answers (id, secret).
    pub async fn register(&self, body: Value) -> (String, String) {
        let resp = self
            .m
            .app
            .bearer(Method::POST, "/api/v1/webhooks/register", &self.m.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let created: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{created}");
        (
            created["endpoint"]["id"].as_str().unwrap().to_string(),
            created["secret"].as_str().unwrap().to_string(),
        )
    }

    /// Dispatches an order; answers the dispatch response.
    pub async fn dispatch(&self, reference: &str, extra: Value) -> Value {
        let mut body = json!({
            "outletId": self.location,
            "event": "order.paid",
            "order": order(reference),
        });
        if let Value::Object(more) = extra {
            for (k, v) in more {
                body[k] = v;
            }
        }
        let resp = self
            .m
            .app
            .bearer(Method::POST, "/api/v1/orders/dispatch", &self.m.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{answer}");
        answer
    }

    pub async fn get(&self, path: &str) -> Value {
        let resp = self.m.call(Method::GET, path).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }

    /// Polls an order until `check` holds (panics after 15 s).
    pub async fn order_until(&self, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..300 {
            let o = self.get(&format!("/api/v1/orders/{id}")).await;
            if check(&o) {
                return o;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("order {id} never reached the expected state");
    }
}

/// A valid order in IDR.
pub fn order(reference: &str) -> Value {
    json!({
        "id": reference,
        "currency": "IDR",
        "total": 75000,
        "diningOption": "PICKUP",
        "guests": 3,
        "items": [
            {"sku": "101", "name": "Nasi Goreng", "quantity": 2, "price": 25000},
            {"sku": "102", "name": "Es Teh", "quantity": 1, "price": "25000"}
        ],
        "customer": {"name": "Ayu", "phone": "+6281234"}
    })
}

async fn every_format_is_signed_over_the_exact_bytes(app: TestApp) {
    let shop = Shop::new(&app, "Warung Signed").await;
    let rx = Receiver::start().await;
    let (_, cata) = shop
        .register(
            json!({"url": rx.url("/cata"), "outletId": shop.location, "events": ["order.paid"]}),
        )
        .await;
    let (_, posz) = shop
        .register(json!({"url": rx.url("/posz"), "format": "posz"}))
        .await;
    let (_, standard) = shop
        .register(json!({"url": rx.url("/std"), "format": "standard", "events": ["*"]}))
        .await;
    assert!(standard.starts_with("whsec_"));
    assert_ne!(cata, posz);
    // Secrets are shown once: listing never carries them.
    let listed = shop.get("/api/v1/webhooks").await;
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert!(!listed.to_string().contains(&cata));
    app.assert_nowhere_in_database(&cata).await;

    // Spacing and number spelling a re-encoding would change.
    let sent = br#"{ "id" : "ORD-SIG-1", "currency":"IDR", "total": 75000.00,
        "items": [ {"sku":"101", "name":"Nasi Goreng", "quantity":2, "price": 37500.0} ] }"#;
    let request = format!(
        r#"{{"outletId":"{}","event":"order.paid","order":{}}}"#,
        shop.location,
        std::str::from_utf8(sent).unwrap()
    );
    let resp = app
        .bearer(Method::POST, "/api/v1/orders/dispatch", &shop.m.token)
        .header("content-type", "application/json")
        .body(request)
        .send()
        .await
        .unwrap();
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["dispatched"], true, "{answer}");
    assert_eq!(answer["reason"], "");
    let got = rx.wait_for(3, Duration::from_secs(10)).await;
    let by_path = |p: &str| -> Captured {
        got.iter()
            .find(|c| c.path == p)
            .cloned()
            .unwrap_or_else(|| panic!("nothing at {p}"))
    };
    let c = by_path("/cata");
    assert_eq!(c.body, sent.to_vec(), "the order JSON byte for byte");
    assert!(signed_by(&c.header("x-cata-signature"), &cata, &c.body));
    assert_eq!(c.header("x-cata-event"), "order.paid");
    assert_eq!(c.header("content-type"), "application/json");
    assert!(c.header("x-cata-timestamp").parse::<i64>().unwrap() > 1_700_000_000);
    assert!(uuid::Uuid::parse_str(&c.header("x-cata-delivery-id")).is_ok());
    assert!(!signed_by(&c.header("x-cata-signature"), &posz, &c.body));

    let p = by_path("/posz");
    assert!(signed_by(&p.header("x-posz-signature"), &posz, &p.body));

    let s = by_path("/std");
    standardwebhooks::Webhook::new(&standard)
        .unwrap()
        .verify(&s.body, &s.headers)
        .expect("the Standard Webhooks library accepts our signature");
    let mut tampered = s.body.clone();
    tampered.push(b' ');
    assert!(standardwebhooks::Webhook::new(&standard)
        .unwrap()
        .verify(&tampered, &s.headers)
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_bad_urls_formats_and_events() {
    let app = TestApp::sqlite_with(|c| c.outbound_allowlist = Vec::new()).await;
    let shop = Shop::new(&app, "Warung Strict").await;
    for (body, field) in [
        (json!({"url": "http://127.0.0.1:9/hook"}), "url"),
        (json!({"url": "http://10.1.2.3/hook"}), "url"),
        (json!({"url": "http://169.254.169.254/latest"}), "url"),
        (json!({"url": "http://localhost:8080/"}), "url"),
        (json!({"url": "ftp://partner.example/hook"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (
            json!({"url": "https://partner.example/hook", "format": "xml"}),
            "format",
        ),
        (
            json!({"url": "https://partner.example/hook", "events": ["order.eaten"]}),
            "events",
        ),
        (
            json!({"url": "https://partner.example/hook", "outletId": uuid::Uuid::new_v4()}),
            "outletId",
        ),
    ] {
        let resp = app
            .bearer(Method::POST, "/api/v1/webhooks/register", &shop.m.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, code, err) = error_of(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_request"),
            "{body} → {err}"
        );
        assert_eq!(err["error"]["fields"][0]["field"], field, "{err}");
    }
    let (status, code, _) = error_of(
        app.bearer(Method::POST, "/api/v1/webhooks/register", "nope")
            .json(&json!({"url": "https://partner.example/hook"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    // A public URL is fine.
    shop.register(json!({"url": "https://partner.example/hook"}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_signs_with_both_secrets_during_the_overlap() {
    let app = TestApp::sqlite().await;
    let shop = Shop::new(&app, "Warung Rotate").await;
    let rx = Receiver::start().await;
    let (id, old) = shop.register(json!({"url": rx.url("/h")})).await;
    let (_, std_old) = shop
        .register(json!({"url": rx.url("/s"), "format": "standard"}))
        .await;
    let rotate = |id: String, overlap: i64| {
        let app = &app;
        let token = shop.m.token.clone();
        async move {
            let resp = app
                .bearer(
                    Method::POST,
                    &format!("/api/v1/webhooks/{id}/rotate-secret"),
                    &token,
                )
                .json(&json!({"overlapSeconds": overlap}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            body["secret"].as_str().unwrap().to_string()
        }
    };
    let new = rotate(id.clone(), 3600).await;
    let listed = shop.get("/api/v1/webhooks").await;
    let std_id = listed.as_array().unwrap()[1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let std_new = rotate(std_id, 3600).await;
    assert_ne!(old, new);

    shop.dispatch("ORD-ROT-1", json!({})).await;
    let got = rx.wait_for(2, Duration::from_secs(10)).await;
    let cata = got
        .iter()
        .find(|c| c.headers.contains_key("x-cata-signature"))
        .unwrap();
    let header = cata.header("x-cata-signature");
    assert_eq!(header.split(',').count(), 2, "{header}");
    assert!(
        signed_by(&header, &old, &cata.body),
        "the old secret still verifies"
    );
    assert!(signed_by(&header, &new, &cata.body), "the new one too");
    let std = got
        .iter()
        .find(|c| c.headers.contains_key("webhook-signature"))
        .unwrap();
    for secret in [&std_old, &std_new] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&std.body, &std.headers)
            .expect("either secret verifies during the overlap");
    }

    // Without an overlap, only the newest secret signs.
    let newest = rotate(id, 0).await;
    shop.dispatch("ORD-ROT-2", json!({})).await;
    let got = rx.wait_for(4, Duration::from_secs(10)).await;
    let last = got
        .iter()
        .rev()
        .find(|c| c.headers.contains_key("x-cata-signature"))
        .unwrap();
    let header = last.header("x-cata-signature");
    assert_eq!(header.split(',').count(), 1);
    assert!(signed_by(&header, &newest, &last.body));
    assert!(!signed_by(&header, &new, &last.body));
}

/// A server whose retry schedule runs a thousand times faster:
/// 60 ms, 300 ms, 900 ms, 3.6 s.
async fn fast_clock() -> TestApp {
    TestApp::sqlite_with(|c| c.delivery_clock_scale = 0.001).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_then_recovers_gets_the_delivery_on_a_retry() {
    let app = fast_clock().await;
    let shop = Shop::new(&app, "Warung Retry").await;
    let rx = Receiver::start().await;
    rx.script(&[(500, "down"), (503, "still down")]);
    rx.otherwise(200, r#"{"externalOrderId":"POS-77"}"#);
    shop.register(json!({"url": rx.url("/h")})).await;

    let answer = shop.dispatch("ORD-RETRY-1", json!({})).await;
    assert_eq!(answer["dispatched"], false);
    assert_eq!(answer["reason"], "callback returned HTTP 500");
    assert_eq!(answer["externalOrderId"], "");
    let order_id = answer["orderId"].as_str().unwrap().to_string();

    let o = shop
        .order_until(&order_id, |o| o["order"]["dispatchStatus"] == "dispatched")
        .await;
    assert_eq!(o["order"]["externalOrderId"], "POS-77");
    let d = &o["deliveries"][0];
    assert_eq!(d["delivery"]["status"], "succeeded");
    let attempts = d["attempts"].as_array().unwrap();
    let codes: Vec<i64> = attempts
        .iter()
        .map(|a| a["statusCode"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![500, 503, 200]);
    assert_eq!(attempts[0]["outcome"], "http_status");
    assert_eq!(attempts[0]["responseExcerpt"], "down");
    assert_eq!(attempts[2]["outcome"], "success");
    // Every attempt carried the same delivery id, so the partner can dedupe.
    let got = rx.captured();
    assert_eq!(got.len(), 3);
    assert!(got
        .windows(2)
        .all(|w| w[0].header("x-cata-delivery-id") == w[1].header("x-cata-delivery-id")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_with_an_error_body_is_a_failure_and_a_resend_delivers_it() {
    let app = fast_clock().await;
    let shop = Shop::new(&app, "Warung Body").await;
    let rx = Receiver::start().await;
    rx.otherwise(200, r#"{"status":"ERROR","error":"table 9 is closed"}"#);
    let (endpoint, _) = shop.register(json!({"url": rx.url("/h")})).await;

    let answer = shop.dispatch("ORD-BODY-1", json!({})).await;
    assert_eq!(answer["dispatched"], false);
    assert_eq!(
        answer["reason"],
        "callback returned 2xx but body indicated error: table 9 is closed"
    );
    let order_id = answer["orderId"].as_str().unwrap().to_string();
    // The schedule runs out: five attempts, then failed.
    let o = shop
        .order_until(&order_id, |o| o["order"]["dispatchStatus"] == "failed")
        .await;
    let delivery = o["deliveries"][0]["delivery"].clone();
    assert_eq!(delivery["status"], "failed");
    assert_eq!(o["deliveries"][0]["attempts"].as_array().unwrap().len(), 5);
    assert_eq!(rx.captured().len(), 5);

    // The endpoint's log shows it, with the failures counted this hour.
    let log = shop.get(&format!("/api/v1/webhooks/{endpoint}")).await;
    assert_eq!(log["deliveries"][0]["status"], "failed");
    let failed: u64 = log["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(failed, 1);

    // Fixed receiver, manual resend: one more attempt, delivered.
    rx.otherwise(200, r#"{"id":"R-1"}"#);
    let id = delivery["id"].as_str().unwrap();
    let resp = shop
        .m
        .call(Method::POST, &format!("/api/v1/deliveries/{id}/resend"))
        .await;
    assert_eq!(resp.status(), 202);
    let o = shop
        .order_until(&order_id, |o| o["order"]["dispatchStatus"] == "dispatched")
        .await;
    assert_eq!(o["order"]["externalOrderId"], "R-1");
    assert_eq!(o["deliveries"][0]["attempts"].as_array().unwrap().len(), 6);
    // A succeeded delivery is not resent.
    let (status, code, _) = error_of(
        shop.m
            .call(Method::POST, &format!("/api/v1/deliveries/{id}/resend"))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    // Another merchant cannot see or resend it.
    let other = Merchant::new(&app, "Other Shop").await;
    assert_eq!(
        other
            .call(Method::GET, &format!("/api/v1/deliveries/{id}"))
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_for_the_configured_period_is_disabled_with_a_reason() {
    let app = TestApp::sqlite_with(|c| {
        c.delivery_clock_scale = 0.001;
        c.endpoint_disable_after_secs = 1;
    })
    .await;
    let shop = Shop::new(&app, "Warung Down").await;
    let rx = Receiver::start().await;
    rx.otherwise(502, "bad gateway");
    let (endpoint, _) = shop.register(json!({"url": rx.url("/h")})).await;
    shop.dispatch("ORD-DOWN-1", json!({})).await;
    let mut disabled = Value::Null;
    for _ in 0..200 {
        let e = shop.get(&format!("/api/v1/webhooks/{endpoint}")).await;
        if e["endpoint"]["enabled"] == false {
            disabled = e;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reason = disabled["endpoint"]["disabledReason"]
        .as_str()
        .expect("disabled with a reason");
    assert!(reason.contains("Disabled automatically"), "{reason}");
    assert!(reason.contains("callback returned HTTP 502"), "{reason}");
    // Nothing more is sent, and a resend is refused until it is enabled.
    let sent = rx.captured().len();
    let delivery = disabled["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, _) = error_of(
        shop.m
            .call(
                Method::POST,
                &format!("/api/v1/deliveries/{delivery}/resend"),
            )
            .await,
    )
    .await;
    assert_eq!(status, 409);
    rx.otherwise(200, "{}");
    let resp = shop
        .m
        .call(Method::POST, &format!("/api/v1/webhooks/{endpoint}/enable"))
        .await;
    assert_eq!(resp.status(), 200);
    let resp = shop
        .m
        .call(
            Method::POST,
            &format!("/api/v1/deliveries/{delivery}/resend"),
        )
        .await;
    assert_eq!(resp.status(), 202);
    rx.wait_for(sent + 1, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orders_deliveries_reach_an_endpoint_in_order() {
    let app = fast_clock().await;
    let shop = Shop::new(&app, "Warung Order").await;
    let rx = Receiver::start().await;
    rx.script(&[(500, ""), (500, "")]);
    rx.otherwise(200, "{}");
    shop.register(
        json!({"url": rx.url("/h"), "events": ["order.paid", "order.accepted", "order.ready"]}),
    )
    .await;
    let answer = shop.dispatch("ORD-SEQ-1", json!({})).await;
    let id = answer["orderId"].as_str().unwrap().to_string();
    // While order.paid is being retried, the order moves on twice.
    for status in ["ACCEPTED", "READY"] {
        let resp = app
            .bearer(
                Method::POST,
                &format!("/api/v1/orders/{id}/status"),
                &shop.m.token,
            )
            .json(&json!({"status": status}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let got = rx.wait_for(5, Duration::from_secs(15)).await;
    let events: Vec<String> = got.iter().map(|c| c.header("x-cata-event")).collect();
    assert_eq!(
        events,
        vec![
            "order.paid",
            "order.paid",
            "order.paid",
            "order.accepted",
            "order.ready"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_can_be_disabled_and_deleted() {
    let app = TestApp::sqlite().await;
    let shop = Shop::new(&app, "Warung Manage").await;
    let rx = Receiver::start().await;
    let (id, _) = shop.register(json!({"url": rx.url("/h")})).await;
    let resp = shop
        .m
        .call(Method::POST, &format!("/api/v1/webhooks/{id}/disable"))
        .await;
    assert_eq!(resp.status(), 200);
    let answer = shop.dispatch("ORD-OFF-1", json!({})).await;
    assert_eq!(answer["dispatched"], false);
    assert_eq!(
        answer["reason"],
        "no dispatch route configured for this outlet/provider"
    );
    assert!(
        rx.captured().is_empty(),
        "a disabled endpoint is never called"
    );
    let resp = shop
        .m
        .call(Method::DELETE, &format!("/api/v1/webhooks/{id}"))
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        shop.m
            .call(Method::GET, &format!("/api/v1/webhooks/{id}"))
            .await
            .status(),
        404
    );
    let other = Merchant::new(&app, "Other").await;
    let (status, _, _) = error_of(
        other
            .call(Method::DELETE, &format!("/api/v1/webhooks/{id}"))
            .await,
    )
    .await;
    assert_eq!(status, 404);
}

/// Calls a server function as the signed-in browser does.
async fn server_fn(app: &TestApp, name: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app.server_fn(name, form).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_register_dispatch_a_test_order_and_resend_through_the_workers() {
    let app = TestApp::sqlite().await;
    let rx = Receiver::start().await;
    rx.script(&[(503, "down")]);
    rx.otherwise(200, r#"{"externalOrderId":"UI-1"}"#);
    app.sign_up("Warung Pages", "pages@example.com").await;
    let (status, location) = server_fn(
        &app,
        "add_location",
        &[
            ("name", "Kemang"),
            ("city", "Jakarta"),
            ("timezone", "Asia/Jakarta"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{location}");
    let location = location["id"].as_str().unwrap().to_string();

    let (status, err) = server_fn(
        &app,
        "register_endpoint",
        &[
            ("url", "ftp://x"),
            ("outlet_id", ""),
            ("format", "cata"),
            ("events", "*"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let url = rx.url("/ui");
    let (status, created) = server_fn(
        &app,
        "register_endpoint",
        &[
            ("url", &url),
            ("outlet_id", &location),
            ("format", "standard"),
            ("events", "order.paid, order.ready"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert_eq!(
        created["endpoint"]["events"],
        json!(["order.paid", "order.ready"])
    );
    let (_, overview) = server_fn(&app, "load_webhooks", &[]).await;
    assert_eq!(overview["endpoints"].as_array().unwrap().len(), 1);
    assert!(!overview.to_string().contains(&secret));

    // The test order is recorded and sent by the workers.
    let (status, order) = server_fn(&app, "dispatch_test_order", &[("outlet_id", &location)]).await;
    assert_eq!(status, 200, "{order}");
    let order_id = order["id"].as_str().unwrap().to_string();
    let first = rx.wait_for(1, Duration::from_secs(10)).await;
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&first[0].body, &first[0].headers)
        .expect("signed with the secret shown once");
    let mut detail = Value::Null;
    for _ in 0..100 {
        detail = server_fn(&app, "load_order", &[("id", &order_id)]).await.1;
        if detail["deliveries"][0]["attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(detail["deliveries"][0]["attempts"][0]["statusCode"], 503);
    let delivery = detail["deliveries"][0]["delivery"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Another merchant cannot resend it; the owner can.
    let other = app.other_browser("Other Pages").await;
    let resp = other
        .post(app.url("/api/resend_delivery"))
        .header("Origin", app.origin())
        .form(&[("id", delivery.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let (status, _) = server_fn(&app, "resend_delivery", &[("id", &delivery)]).await;
    assert_eq!(status, 200);
    rx.wait_for(2, Duration::from_secs(10)).await;
    for _ in 0..100 {
        detail = server_fn(&app, "load_order", &[("id", &order_id)]).await.1;
        if detail["order"]["dispatchStatus"] == "dispatched" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(detail["order"]["externalOrderId"], "UI-1");
    let (_, log) = server_fn(
        &app,
        "load_endpoint",
        &[("id", created["endpoint"]["id"].as_str().unwrap())],
    )
    .await;
    assert_eq!(log["deliveries"][0]["status"], "succeeded");
    let (status, _) = server_fn(&app, "load_order", &[("id", "not-an-id")]).await;
    assert_eq!(status, 404);
}

on_both_backends!(refunds_and_settings_changes_reach_their_subscribers,);

/// `refund.created` and `settings.changed` are emitted, signed and
/// delivered to the endpoints that take them; a refund is checked against
/// what is left to refund and needs a paid order.
async fn refunds_and_settings_changes_reach_their_subscribers(app: TestApp) {
    let shop = Shop::new(&app, "Warung Refund").await;
    let rx = Receiver::start().await;
    rx.otherwise(200, "{}");
    let (_, secret) = shop
        .register(json!({"url": rx.url("/hooks"), "outletId": shop.location,
            "events": ["refund.created", "settings.changed"]}))
        .await;
    let dispatched = shop.dispatch("RF-1", json!({})).await;
    let order_id = dispatched["orderId"].as_str().unwrap().to_string();
    let refund = |body: Value| {
        shop.m
            .app
            .bearer(
                Method::POST,
                &format!("/api/v1/orders/{order_id}/refunds"),
                &shop.m.token,
            )
            .json(&body)
            .send()
    };
    let resp = refund(json!({"amount": "25000", "reason": "Es teh tumpah"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["amount"], "25000.00");
    // More than is left (75,000 − 25,000), a bad amount, unknown fields.
    for bad in [
        json!({"amount": "50000.01"}),
        json!({"amount": "-5"}),
        json!({"amount": 0}),
        json!({"amount": "lots"}),
        json!({"amount": "1", "extra": true}),
    ] {
        let (status, code, _) = error_of(refund(bad.clone()).await.unwrap()).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"), "{bad}");
    }
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].header("x-cata-event"), "refund.created");
    assert!(signed_by(
        &got[0].header("x-cata-signature"),
        &secret,
        &got[0].body
    ));
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["refundId"], created["id"]);
    assert_eq!(body["orderId"], order_id.as_str());
    assert_eq!(body["refundedTotal"], "25000.00");
    let detail = shop.get(&format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(detail["refunds"].as_array().unwrap().len(), 1);

    // A pending order has nothing to refund.
    let pending = shop
        .dispatch("RF-2", json!({"event": "order.created"}))
        .await;
    let resp = shop
        .m
        .app
        .bearer(
            Method::POST,
            &format!(
                "/api/v1/orders/{}/refunds",
                pending["orderId"].as_str().unwrap()
            ),
            &shop.m.token,
        )
        .json(&json!({"amount": "1000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_transition");
    // Nor does one cancelled before it was paid.
    let pending_id = pending["orderId"].as_str().unwrap();
    let resp = shop
        .m
        .app
        .bearer(
            Method::POST,
            &format!("/api/v1/orders/{pending_id}/status"),
            &shop.m.token,
        )
        .json(&json!({"status": "CANCELLED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = shop
        .m
        .app
        .bearer(
            Method::POST,
            &format!("/api/v1/orders/{pending_id}/refunds"),
            &shop.m.token,
        )
        .json(&json!({"amount": "1000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_transition");

    // Reconfiguring an install at the outlet announces settings.changed,
    // naming the fields, never their values.
    let installed = shop
        .m
        .installed(
            "xendit",
            Some(&shop.location),
            json!({"secret_key": "xnd_secret_000001", "callback_token": "tok-000000001"}),
        )
        .await;
    let resp = shop
        .m
        .app
        .bearer(
            Method::PATCH,
            &format!("/v1/installs/{}", installed["id"].as_str().unwrap()),
            &shop.m.token,
        )
        .json(&json!({"config": {"callback_token": "tok-000000002"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let got = rx.wait_for(2, Duration::from_secs(10)).await;
    let settings = got
        .iter()
        .find(|c| c.header("x-cata-event") == "settings.changed")
        .unwrap();
    let body: Value = serde_json::from_slice(&settings.body).unwrap();
    assert_eq!(body["integration"], "xendit");
    assert_eq!(body["changed"], json!(["callback_token"]));
    assert!(!String::from_utf8_lossy(&settings.body).contains("tok-000000002"));
}

/// The delivery queue is durable: deliveries a crashed process had
/// accepted (the dispatch was answered) are sent by the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_deliveries_survive_a_crash_and_are_sent_after_restart() {
    use crate::helpers::Process;
    let dir = tempfile::tempdir().unwrap();
    let port = Process::free_port();
    let settings = [
        ("PLUGBOARD_OUTBOUND_ALLOWLIST", "127.0.0.0/8,::1"),
        // Retries after 0.6 s instead of 1 minute.
        ("PLUGBOARD_DELIVERY_CLOCK_SCALE", "0.01"),
    ];
    let first = Process::start(dir.path(), port, &settings).await;
    let token = first
        .merchant_token("Crashy Kopi", "crash-deliveries@example.com")
        .await;
    let api = |url: &str, method: Method, path: &str| {
        reqwest::Client::new()
            .request(method, format!("{url}{path}"))
            .bearer_auth(&token)
    };
    let loc: Value = api(&first.url, Method::POST, "/v1/locations")
        .json(&crate::helpers::location("Kota"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loc = loc["id"].as_str().unwrap().to_string();
    let rx = Receiver::start().await;
    rx.otherwise(503, "down for maintenance");
    let resp = api(&first.url, Method::POST, "/api/v1/webhooks/register")
        .json(&json!({"url": rx.url("/orders"), "outletId": loc, "events": ["order.paid"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let n = 20;
    for i in 0..n {
        let answer: Value = api(&first.url, Method::POST, "/api/v1/orders/dispatch")
            .json(&json!({"outletId": loc, "event": "order.paid", "order": order(&format!("CR-{i}"))}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["dispatched"], false, "{answer}");
    }
    first.kill();

    // The receiver recovers; the next process sends every queued delivery.
    rx.otherwise(200, r#"{"ok":true}"#);
    let second = Process::start(dir.path(), port, &settings).await;
    for _ in 0..200 {
        let orders: Vec<Value> = api(&second.url, Method::GET, "/api/v1/orders?limit=100")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let done = orders
            .iter()
            .filter(|o| o["dispatchStatus"] == "dispatched")
            .count();
        if done == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let orders: Vec<Value> = api(&second.url, Method::GET, "/api/v1/orders?limit=100")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders.len(), n);
    assert!(
        orders.iter().all(|o| o["dispatchStatus"] == "dispatched"),
        "{orders:?}"
    );
    let references: std::collections::HashSet<String> = rx
        .captured()
        .iter()
        .filter(|c| c.header("x-cata-event") == "order.paid")
        .filter_map(|c| serde_json::from_slice::<Value>(&c.body).ok())
        .filter_map(|b| b["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(references.len(), n, "every order reached the receiver");
}
