//! Server-rendered pages: they work before (or without) the wasm.
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_and_detail_pages_render_on_the_server() {
    let app = TestApp::sqlite().await;
    let resp = app.get("/integrations?capability=pay_at_table").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("data-slug=\"qlub\"") && html.contains("data-slug=\"sunday\""));
    assert!(!html.contains("data-slug=\"spliteasy\""));
    assert!(
        html.contains("/pkg/plugboard.js"),
        "hydration script is linked"
    );

    let html = app
        .get("/integrations/spliteasy")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("SplitEasy") && html.contains("up to 3 per location"));
    assert!(html.contains("Nothing to sign up for"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_and_integrations_answer_404() {
    let app = TestApp::sqlite().await;
    assert_eq!(app.get("/no/such/page").await.status(), 404);
    let resp = app.get("/integrations/no-such-integration").await;
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("Integration not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_pages_send_visitors_to_sign_in() {
    let app = TestApp::sqlite().await;
    for page in ["/locations", "/settings"] {
        let resp = app
            .client
            .get(app.url(page))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302, "{page}");
        assert_eq!(resp.headers()["location"], "/signin");
    }
    let resp = app
        .client
        .get(app.url("/locations"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/signin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_lists_the_routes() {
    let app = TestApp::sqlite().await;
    let html = app.get("/docs/api").await.text().await.unwrap();
    assert!(html.contains("/v1/integrations/catalog/{slug}"));
    assert!(html.contains("/v1/locations"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_guide_shows_how_to_verify_each_signature_format() {
    let app = TestApp::sqlite().await;
    // Partners read it without an account.
    let resp = app.get("/docs/webhooks").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    for needle in [
        "X-Cata-Signature",
        "X-Posz-Signature",
        "webhook-signature",
        "<pre>",
        "Python",
        "JavaScript",
        "Rust",
    ] {
        assert!(
            html.contains(needle),
            "{needle} missing from the partner guide"
        );
    }
    // Rendered, not raw Markdown.
    assert!(html.contains("<h2>"));
    assert!(!html.contains("\n## "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cashier_and_board_need_a_signed_in_merchant() {
    let app = TestApp::sqlite().await;
    for path in ["/cashier", "/board"] {
        let resp = app
            .client
            .get(app.url(path))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302, "{path}");
        assert_eq!(resp.headers()["location"], "/signin");
    }
    // The board's event stream: signed-in merchants only.
    let resp = app
        .get(&format!("/live/outlets/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orders_page_lists_its_refunds() {
    use reqwest::Method;
    let app = TestApp::sqlite().await;
    let (browser, token) = app.merchant_session("Refund View").await;
    let token = token.as_str();
    let loc: serde_json::Value = app
        .bearer(Method::POST, "/v1/locations", token)
        .json(&crate::helpers::location("Kota"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dispatched: serde_json::Value = app
        .bearer(Method::POST, "/api/v1/orders/dispatch", token)
        .json(
            &serde_json::json!({"outletId": loc["id"], "event": "order.paid",
            "order": crate::webhooks::order("RV-1")}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = dispatched["orderId"].as_str().unwrap();
    let resp = app
        .bearer(
            Method::POST,
            &format!("/api/v1/orders/{order_id}/refunds"),
            token,
        )
        .json(&serde_json::json!({"amount": "5000", "reason": "Kopi dingin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let html = browser
        .get(app.url(&format!("/orders/{order_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"refunds\""), "no refunds table");
    assert!(html.contains("5000.00 IDR") && html.contains("Kopi dingin"));
}
