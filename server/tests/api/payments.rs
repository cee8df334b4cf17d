//! QRIS payments against local fakes that speak Midtrans's and Xendit's
//! documented shapes: charges with failover (5xx, timeout, both down),
//! idempotency, rounding, the notifications through the inbound gateway
//! (signature, token, duplicates, out of order), the order moving to PAID,
//! the simulator, and the live board's server-sent events (resume by
//! Last-Event-ID; Redis pub/sub when configured).
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use server::fakes::midtrans::FakeMidtrans;
use server::fakes::xendit::FakeXendit;
use server::fakes::Mode;

use crate::helpers::{bind, error_of, Merchant, TestApp};

const MIDTRANS_KEY: &str = "SB-Mid-server-test-0001";
const XENDIT_KEY: &str = "xnd_development_test_0001";
const XENDIT_TOKEN: &str = "xendit-callback-token-0001";

/// Both provider fakes, each on its own loopback port.
struct Providers {
    midtrans: FakeMidtrans,
    xendit: FakeXendit,
    midtrans_url: String,
    xendit_url: String,
}

async fn serve(router: axum::Router) -> String {
    let listener = bind().await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn providers() -> Providers {
    let midtrans = FakeMidtrans::new(MIDTRANS_KEY);
    let xendit = FakeXendit::new(XENDIT_KEY);
    Providers {
        midtrans_url: serve(midtrans.router()).await,
        xendit_url: serve(xendit.router()).await,
        midtrans,
        xendit,
    }
}

fn point_at(p: &Providers) -> impl FnOnce(&mut server::Config) + '_ {
    move |c| {
        c.midtrans_base_url = Some(p.midtrans_url.clone());
        c.xendit_base_url = Some(p.xendit_url.clone());
        c.payment_timeout_ms = 1000;
    }
}

async fn app_for(p: &Providers) -> TestApp {
    let app = TestApp::sqlite_with(point_at(p)).await;
    p.xendit.set_callback(
        &app.url("/v1/integrations/payments/xendit/notifications"),
        XENDIT_TOKEN,
    );
    app
}

/// A merchant with one outlet where Midtrans and Xendit are installed.
struct Till<'a> {
    m: Merchant<'a>,
    outlet: String,
}

impl<'a> Till<'a> {
    async fn open(app: &'a TestApp) -> Till<'a> {
        let m = Merchant::new(app, "Kopi Kenangan").await;
        let outlet = m.location("Senopati").await;
        m.installed(
            "midtrans",
            Some(&outlet),
            json!({"server_key": MIDTRANS_KEY, "environment": "sandbox"}),
        )
        .await;
        m.installed(
            "xendit",
            Some(&outlet),
            json!({"secret_key": XENDIT_KEY, "callback_token": XENDIT_TOKEN}),
        )
        .await;
        Till { m, outlet }
    }

    async fn charge_with(&self, body: Value, key: Option<&str>) -> reqwest::Response {
        let mut req = self
            .m
            .app
            .bearer(Method::POST, "/api/v1/payments", &self.m.token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    /// A charge for a new order of `total` IDR; answers (status, body).
    async fn charge(&self, reference: &str, total: &str) -> (u16, Value) {
        let resp = self.charge_with(self.body(reference, total), None).await;
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    fn body(&self, reference: &str, total: &str) -> Value {
        json!({"outletId": self.outlet, "order": {
            "id": reference, "currency": "IDR", "total": total,
            "items": [{"sku": "KS-1", "name": "Kopi susu", "quantity": 1, "price": total}]
        }})
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self.m.call(Method::GET, path).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }

    /// Waits until the order reaches `status` (notifications are processed
    /// asynchronously).
    async fn order_until(&self, order_id: &str, status: &str) -> Value {
        for _ in 0..100 {
            let order = self.get(&format!("/api/v1/orders/{order_id}")).await;
            if order["order"]["status"] == status {
                return order;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("order {order_id} never became {status}");
    }

    async fn payment_until(&self, id: &str, status: &str) -> Value {
        for _ in 0..100 {
            let p = self.get(&format!("/api/v1/payments/{id}")).await;
            if p["status"] == status {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("payment {id} never became {status}");
    }
}

/// Posts a hand-made Midtrans notification; answers the gateway's answer.
async fn midtrans_notification(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/integrations/payments/midtrans/notifications"))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn basic(user: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_success_then_paid_notification_moves_the_order_to_paid() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let (status, pay) = till.charge("T-100", "25000").await;
    assert_eq!(status, 201, "{pay}");
    assert_eq!(pay["provider"], "midtrans");
    assert_eq!(pay["status"], "pending");
    assert_eq!(pay["grossAmount"], "25000");
    assert_eq!(pay["failover"], json!([]));
    assert!(pay["qrString"].as_str().unwrap().starts_with("000201"));
    assert!(pay["expiresAt"].as_str().is_some());
    // What Midtrans received: its documented charge, Basic auth by server
    // key, our notification URL.
    let sent = p.midtrans.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        header(&sent[0].headers, "authorization"),
        Some(basic(MIDTRANS_KEY).as_str())
    );
    assert_eq!(
        header(&sent[0].headers, "x-override-notification"),
        Some(
            app.url("/v1/integrations/payments/midtrans/notifications")
                .as_str()
        )
    );
    assert_eq!(sent[0].body["payment_type"], "qris");
    assert_eq!(sent[0].body["transaction_details"]["order_id"], pay["id"]);
    assert_eq!(sent[0].body["transaction_details"]["gross_amount"], 25000);
    assert!(p.xendit.requests().is_empty(), "the backup was not needed");
    // The order was saved PENDING with the payment.
    let order_id = pay["orderId"].as_str().unwrap();
    let order = till.get(&format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(order["order"]["status"], "PENDING");
    assert_eq!(order["order"]["reference"], "T-100");
    // The customer pays: Midtrans notifies, the gateway verifies and
    // stores, the processor settles.
    assert_eq!(
        p.midtrans.pay(pay["id"].as_str().unwrap()).await.unwrap(),
        200
    );
    let order = till.order_until(order_id, "PAID").await;
    let history = order["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["source"], "payment:midtrans");
    let paid = till
        .payment_until(pay["id"].as_str().unwrap(), "paid")
        .await;
    assert!(paid["paidAt"].as_str().is_some());
    // The same notification again is a recorded duplicate and changes
    // nothing.
    assert_eq!(
        p.midtrans.pay(pay["id"].as_str().unwrap()).await.unwrap(),
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM inbound_events WHERE family = 'payment' AND status = 'duplicate'"
        )
        .await,
        1
    );
    let order = till.get(&format!("/api/v1/orders/{order_id}")).await;
    let paid_rows = order["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["to"] == "PAID")
        .count();
    assert_eq!(paid_rows, 1);
    assert_eq!(order["order"]["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_5xx_fails_over_to_xendit_transparently() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    p.midtrans.set_mode(Mode::ServerError);
    let (status, pay) = till.charge("T-200", "18000").await;
    assert_eq!(status, 201, "{pay}");
    assert_eq!(pay["provider"], "xendit");
    assert!(pay["providerTransactionId"]
        .as_str()
        .unwrap()
        .starts_with("qr_"));
    let failover = pay["failover"].as_array().unwrap();
    assert_eq!(failover.len(), 1);
    assert_eq!(failover[0]["provider"], "midtrans");
    assert!(
        failover[0]["error"].as_str().unwrap().contains("500"),
        "{failover:?}"
    );
    // Xendit's documented request.
    let sent = p.xendit.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(header(&sent[0].headers, "api-version"), Some("2022-07-31"));
    assert_eq!(
        header(&sent[0].headers, "authorization"),
        Some(basic(XENDIT_KEY).as_str())
    );
    assert_eq!(sent[0].body["reference_id"], pay["id"]);
    assert_eq!(sent[0].body["type"], "DYNAMIC");
    assert_eq!(sent[0].body["amount"], 18000);
    // Xendit's callback, verified by token, pays the order.
    assert_eq!(
        p.xendit.pay(pay["id"].as_str().unwrap()).await.unwrap(),
        200
    );
    till.order_until(pay["orderId"].as_str().unwrap(), "PAID")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_timeout_fails_over_to_xendit() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    p.midtrans.set_mode(Mode::Timeout);
    let (status, pay) = till.charge("T-300", "9000").await;
    assert_eq!(status, 201, "{pay}");
    assert_eq!(pay["provider"], "xendit");
    let error = pay["failover"][0]["error"].as_str().unwrap();
    assert!(error.contains("no answer within 1000 ms"), "{error}");
    assert!(pay["failover"][0]["latencyMs"].as_u64().unwrap() >= 900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_providers_down_is_a_clear_error_and_nothing_is_written() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    p.midtrans.set_mode(Mode::ServerError);
    p.xendit.set_mode(Mode::ServerError);
    let resp = till
        .charge_with(till.body("T-400", "5000"), Some("key-400"))
        .await;
    let (status, code, body) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (502, "payment_provider_error"));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("midtrans: HTTP 500"), "{message}");
    assert!(message.contains("xendit: HTTP 503"), "{message}");
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);
    // The idempotency key was not used up: the retry, once a provider is
    // back, creates the charge.
    p.xendit.set_mode(Mode::Ok);
    let resp = till
        .charge_with(till.body("T-400", "5000"), Some("key-400"))
        .await;
    assert_eq!(resp.status(), 201);
    let pay: Value = resp.json().await.unwrap();
    assert_eq!(pay["provider"], "xendit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_not_failed_over_and_names_the_provider() {
    let p = providers().await;
    let app = app_for(&p).await;
    let m = Merchant::new(&app, "Salah Kunci").await;
    let outlet = m.location("Kemang").await;
    m.installed(
        "midtrans",
        Some(&outlet),
        json!({"server_key": "SB-Mid-server-wrong"}),
    )
    .await;
    m.installed(
        "xendit",
        Some(&outlet),
        json!({"secret_key": XENDIT_KEY, "callback_token": XENDIT_TOKEN}),
    )
    .await;
    let resp = app
        .bearer(Method::POST, "/api/v1/payments", &m.token)
        .json(
            &json!({"outletId": outlet, "order": {"id": "T-1", "currency": "IDR", "total": 1000,
            "items": [{"name": "Air", "quantity": 1, "price": 1000}]}}),
        )
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (502, "payment_provider_error"));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("refused the charge (HTTP 401)"));
    assert!(p.xendit.requests().is_empty(), "a 4xx is not failed over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_per_location_puts_xendit_first() {
    let p = providers().await;
    let app = app_for(&p).await;
    let m = Merchant::new(&app, "Bakmi").await;
    let outlet = m.location("Blok M").await;
    m.installed(
        "midtrans",
        Some(&outlet),
        json!({"server_key": MIDTRANS_KEY, "priority": 2}),
    )
    .await;
    m.installed(
        "xendit",
        Some(&outlet),
        json!({"secret_key": XENDIT_KEY, "callback_token": XENDIT_TOKEN, "priority": 1}),
    )
    .await;
    let resp = app
        .bearer(Method::POST, "/api/v1/payments", &m.token)
        .json(
            &json!({"outletId": outlet, "order": {"id": "B-1", "currency": "IDR", "total": 32000,
            "items": [{"name": "Bakmi", "quantity": 1, "price": 32000}]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let pay: Value = resp.json().await.unwrap();
    assert_eq!(pay["provider"], "xendit");
    assert!(p.midtrans.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays_the_payment_and_refuses_another_body() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let first = till
        .charge_with(till.body("T-500", "12000"), Some("idem-1"))
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = till
        .charge_with(till.body("T-500", "12000"), Some("idem-1"))
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        p.midtrans.requests().len(),
        1,
        "the provider was charged once"
    );
    let other = till
        .charge_with(till.body("T-501", "12000"), Some("idem-1"))
        .await;
    let (status, code, _) = error_of(other).await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn midtrans_item_lines_are_rounded_to_add_up_to_the_gross_amount() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    // 3 × 3,333.33 = 9,999.99, total 10,000: lines of 3,333 and a +1
    // adjustment. 2 × 12,500.50 with a discount to 24,000: a negative one.
    for (reference, total, items) in [
        (
            "R-1",
            "10000",
            json!([{"name": "Teh", "quantity": 3, "price": "3333.33"}]),
        ),
        (
            "R-2",
            "24000",
            json!([{"name": "Nasi", "quantity": 2, "price": "12500.50"}]),
        ),
        (
            "R-3",
            "15500.49",
            json!([{"name": "Soto", "quantity": 1, "price": "15500.49"}]),
        ),
    ] {
        let resp = till
            .charge_with(
                json!({"outletId": till.outlet, "order": {"id": reference, "currency": "IDR",
                    "total": total, "items": items}}),
                None,
            )
            .await;
        assert_eq!(resp.status(), 201, "{reference}");
    }
    let sent = p.midtrans.requests();
    assert_eq!(sent.len(), 3);
    for (req, gross) in sent.iter().zip([10_000, 24_000, 15_500]) {
        assert_eq!(req.body["transaction_details"]["gross_amount"], gross);
        let sum: i64 = req.body["item_details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["price"].as_i64().unwrap() * i["quantity"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, gross, "{}", req.body);
    }
    assert_eq!(sent[0].body["item_details"][1]["price"], 1);
    assert_eq!(sent[1].body["item_details"][1]["price"], -1002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_clear_errors() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let cases = [
        (json!({"outletId": till.outlet}), 400, "invalid_request"),
        (
            json!({"outletId": uuid::Uuid::new_v4(), "order": till.body("X", "1000")["order"]}),
            400,
            "invalid_request",
        ),
        (
            json!({"outletId": till.outlet, "order": {"id": "U", "currency": "USD", "total": 5,
            "items": [{"name": "x", "quantity": 1, "price": 5}]}}),
            400,
            "invalid_request",
        ),
        (
            json!({"outletId": till.outlet, "order": {"id": "Z", "currency": "IDR", "total": 0,
            "items": [{"name": "x", "quantity": 1, "price": 0}]}}),
            400,
            "invalid_request",
        ),
        (
            json!({"outletId": till.outlet, "order": till.body("E", "1000")["order"], "expiryMinutes": 0}),
            400,
            "invalid_request",
        ),
        (
            json!({"outletId": till.outlet, "orderId": uuid::Uuid::new_v4()}),
            400,
            "invalid_request",
        ),
        (
            json!({"outletId": till.outlet, "bogus": 1}),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let resp = till.charge_with(body.clone(), None).await;
        let (s, c, _) = error_of(resp).await;
        assert_eq!((s, c.as_str()), (status, code), "{body}");
    }
    // No provider at the outlet.
    let bare = till.m.location("Bare").await;
    let resp = till
        .charge_with(
            json!({"outletId": bare, "order": till.body("N", "1000")["order"]}),
            None,
        )
        .await;
    let (s, c, _) = error_of(resp).await;
    assert_eq!((s, c.as_str()), (404, "integration_not_installed"));
    // One live QR per order: a second charge while the first can still be
    // paid is refused; so is an order id reused with another total.
    let (_, live) = till.charge("T-650", "8000").await;
    let resp = till
        .charge_with(
            json!({"outletId": till.outlet, "orderId": live["orderId"]}),
            None,
        )
        .await;
    let (s, c, body) = error_of(resp).await;
    assert_eq!((s, c.as_str()), (409, "conflict"));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(live["id"].as_str().unwrap()));
    let resp = till.charge_with(till.body("T-650", "9000"), None).await;
    let (s, c, _) = error_of(resp).await;
    assert_eq!((s, c.as_str()), (409, "conflict"));
    // An order already paid cannot be charged again.
    let (_, pay) = till.charge("T-600", "7000").await;
    p.midtrans.pay(pay["id"].as_str().unwrap()).await.unwrap();
    till.order_until(pay["orderId"].as_str().unwrap(), "PAID")
        .await;
    let resp = till
        .charge_with(
            json!({"outletId": till.outlet, "orderId": pay["orderId"]}),
            None,
        )
        .await;
    let (s, c, _) = error_of(resp).await;
    assert_eq!((s, c.as_str()), (409, "conflict"));
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_that_do_not_verify_are_401_and_not_stored() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let (_, pay) = till.charge("T-700", "25000").await;
    let id = pay["id"].as_str().unwrap();
    let signature = app::domain::payments::midtrans::signature(id, "200", "25000.00", "wrong-key");
    let forged = json!({"order_id": id, "status_code": "200", "gross_amount": "25000.00",
        "signature_key": signature, "transaction_status": "settlement", "transaction_id": "t-1"});
    let resp = midtrans_notification(&app, &forged).await;
    let (s, c, _) = error_of(resp).await;
    assert_eq!((s, c.as_str()), (401, "invalid_signature"));
    // Signed right, but over another amount than sent: 401 as well.
    let good_sig = app::domain::payments::midtrans::signature(id, "200", "25000.00", MIDTRANS_KEY);
    let mut tampered = forged.clone();
    tampered["signature_key"] = json!(good_sig);
    tampered["gross_amount"] = json!("25000");
    let resp = midtrans_notification(&app, &tampered).await;
    assert_eq!(resp.status(), 401);
    // Xendit with a wrong callback token.
    p.midtrans.set_mode(Mode::ServerError);
    let (_, xpay) = till.charge("T-701", "3000").await;
    assert_eq!(xpay["provider"], "xendit");
    p.xendit.set_callback(
        &app.url("/v1/integrations/payments/xendit/notifications"),
        "not-the-token",
    );
    assert_eq!(
        p.xendit.pay(xpay["id"].as_str().unwrap()).await.unwrap(),
        401
    );
    // An unknown provider is 404.
    let resp = app
        .client
        .post(app.url("/v1/integrations/payments/doku/notifications"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM inbound_events WHERE family = 'payment'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_notifications_are_harmless() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let (_, pay) = till.charge("T-800", "11000").await;
    let id = pay["id"].as_str().unwrap();
    // Settlement first, then a late "pending" and an "expire": paid stays.
    assert_eq!(p.midtrans.notify(id, "settlement").await.unwrap(), 200);
    assert_eq!(p.midtrans.notify(id, "pending").await.unwrap(), 200);
    assert_eq!(p.midtrans.notify(id, "expire").await.unwrap(), 200);
    till.order_until(pay["orderId"].as_str().unwrap(), "PAID")
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let now = till.get(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(now["status"], "paid");
    // An expiry before a (late) settlement: expired, then paid.
    let (_, pay2) = till.charge("T-801", "4000").await;
    let id2 = pay2["id"].as_str().unwrap();
    p.midtrans.notify(id2, "expire").await.unwrap();
    till.payment_until(id2, "expired").await;
    p.midtrans.notify(id2, "settlement").await.unwrap();
    till.payment_until(id2, "paid").await;
    till.order_until(pay2["orderId"].as_str().unwrap(), "PAID")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_pays_in_development_and_is_off_in_production() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let (_, pay) = till.charge("T-900", "21000").await;
    let id = pay["id"].as_str().unwrap();
    let resp = till
        .m
        .call(Method::POST, &format!("/api/v1/payments/{id}/simulate"))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["receiverStatus"], 200);
    till.order_until(pay["orderId"].as_str().unwrap(), "PAID")
        .await;
    // The QR image.
    let svg = till
        .m
        .call(Method::GET, &format!("/api/v1/payments/{id}/qr.svg"))
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));

    let prod = TestApp::sqlite_with(|c| {
        point_at(&p)(c);
        c.environment = "production".into();
    })
    .await;
    let till = Till::open(&prod).await;
    let (_, pay) = till.charge("T-901", "21000").await;
    let resp = till
        .m
        .call(
            Method::POST,
            &format!("/api/v1/payments/{}/simulate", pay["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(prod.get("/_fakes/midtrans/v2/charge").await.status(), 404);
}

/// Reads server-sent events from `resp` until `n` have arrived.
async fn read_events(resp: &mut reqwest::Response, n: usize) -> Vec<(i64, Value)> {
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < n {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("events in time")
            .unwrap()
            .expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut id = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let (Some(id), false) = (id, data.is_empty()) {
                events.push((id, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

async fn subscribe(app: &TestApp, till: &Till<'_>, last: Option<i64>) -> reqwest::Response {
    let mut req = app.bearer(
        Method::GET,
        &format!("/api/v1/outlets/{}/live", till.outlet),
        &till.m.token,
    );
    if let Some(id) = last {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    resp
}

async fn live_board_streams_and_resumes(app: &TestApp, p: &Providers) {
    let till = Till::open(app).await;
    let mut stream = subscribe(app, &till, None).await;
    let (_, pay) = till.charge("L-1", "15000").await;
    let first = read_events(&mut stream, 2).await;
    let kinds: Vec<&str> = first
        .iter()
        .map(|(_, e)| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["order.pending", "payment.created"], "{first:?}");
    assert_eq!(first[1].1["paymentId"], pay["id"]);
    // The connection drops; meanwhile the customer pays.
    drop(stream);
    p.midtrans.pay(pay["id"].as_str().unwrap()).await.unwrap();
    till.order_until(pay["orderId"].as_str().unwrap(), "PAID")
        .await;
    // Resuming after the last event seen delivers what was missed.
    let last = first[1].0;
    let mut resumed = subscribe(app, &till, Some(last)).await;
    let missed = read_events(&mut resumed, 2).await;
    let kinds: Vec<&str> = missed
        .iter()
        .map(|(_, e)| e["event"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"payment.paid") && kinds.contains(&"order.paid"),
        "{missed:?}"
    );
    assert!(missed.iter().all(|(id, _)| *id > last));
    // Another store's events never arrive on this one's channel.
    let other = till.m.location("Elsewhere").await;
    assert_ne!(other, till.outlet);
    // And the stream stays live.
    let (_, pay2) = till.charge("L-2", "5000").await;
    let live = read_events(&mut resumed, 2).await;
    assert_eq!(live[1].1["paymentId"], pay2["id"]);
    assert!(live
        .iter()
        .all(|(_, e)| e["outletId"] == till.outlet.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_board_sqlite() {
    let p = providers().await;
    let app = app_for(&p).await;
    live_board_streams_and_resumes(&app, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_board_and_payments_on_postgres() {
    let p = providers().await;
    let Some(app) = TestApp::postgres_on(bind().await, point_at(&p)).await else {
        return;
    };
    p.xendit.set_callback(
        &app.url("/v1/integrations/payments/xendit/notifications"),
        XENDIT_TOKEN,
    );
    live_board_streams_and_resumes(&app, &p).await;
}

const REDIS_URL: &str = "redis://127.0.0.1:6379";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_board_publishes_through_redis_when_configured() {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let mut pubsub =
        match tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await {
            Ok(Ok(ps)) => ps,
            other => {
                eprintln!(
                    "SKIP (Redis unreachable at {REDIS_URL}: {:?})",
                    other.err().map(|_| "timeout")
                );
                return;
            }
        };
    let p = providers().await;
    let app = TestApp::sqlite_with(|c| {
        point_at(&p)(c);
        c.redis_url = Some(server::config::Redacted(REDIS_URL.into()));
    })
    .await;
    let till = Till::open(&app).await;
    let channel = format!("order:channel:{}", till.outlet);
    pubsub.subscribe(&channel).await.unwrap();
    let mut stream = subscribe(&app, &till, None).await;
    let (_, pay) = till.charge("RD-1", "8000").await;
    // An outside subscriber of the store's channel sees the events …
    use futures::StreamExt;
    let mut messages = pubsub.on_message();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let msg = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("a Redis message in time")
            .unwrap();
        assert_eq!(msg.get_channel_name(), channel);
        let v: Value = serde_json::from_str(&msg.get_payload::<String>().unwrap()).unwrap();
        seen.push(v["event"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["order.pending", "payment.created"]);
    // … and the server's own subscriber gets them through Redis too.
    let events = read_events(&mut stream, 2).await;
    assert_eq!(events[1].1["paymentId"], pay["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_notification_with_another_amount_fails_for_support() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let (_, pay) = till.charge("T-1000", "25000").await;
    let id = pay["id"].as_str().unwrap();
    // Signed with the right key, but for another amount than charged.
    let signature = app::domain::payments::midtrans::signature(id, "200", "2500.00", MIDTRANS_KEY);
    let resp = midtrans_notification(
        &app,
        &json!({"order_id": id, "status_code": "200", "gross_amount": "2500.00",
            "signature_key": signature, "transaction_status": "settlement",
            "transaction_id": "t-x", "fraud_status": "accept"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let mut failed = Value::Null;
    for _ in 0..100 {
        let events = till.get("/v1/inbound/events").await;
        if let Some(e) = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["family"] == "payment" && e["status"] == "failed")
        {
            failed = e.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["failure_class"], "validation", "{failed}");
    assert!(failed["failure_reason"]
        .as_str()
        .unwrap()
        .contains("2500.00"));
    let order = till
        .get(&format!(
            "/api/v1/orders/{}",
            pay["orderId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(order["order"]["status"], "PENDING");
    let now = till.get(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(now["status"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_charge_reads_expired_and_the_order_can_be_charged_again() {
    let p = providers().await;
    let app = app_for(&p).await;
    let till = Till::open(&app).await;
    let (_, pay) = till.charge("T-EXP", "6000").await;
    let id = pay["id"].as_str().unwrap();
    // The QR's time runs out (no provider notice comes).
    let expired = app
        .count(
            "UPDATE payments SET expires_at = '2000-01-01 00:00:00+00:00' \
             WHERE order_id = (SELECT id FROM orders WHERE reference = 'T-EXP') RETURNING 1",
        )
        .await;
    assert_eq!(expired, 1);
    let now = till.get(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(now["status"], "expired");
    let resp = till
        .m
        .call(Method::POST, &format!("/api/v1/payments/{id}/simulate"))
        .await;
    assert_eq!(error_of(resp).await.0, 409);
    // No payable QR is left, so the order can be charged again.
    let resp = till
        .charge_with(
            json!({"outletId": till.outlet, "orderId": pay["orderId"]}),
            None,
        )
        .await;
    assert_eq!(resp.status(), 201);
}
