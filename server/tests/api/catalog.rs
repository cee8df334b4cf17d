//! The public catalog API and the OpenAPI document.
use serde_json::Value;

use crate::helpers::{error_of, TestApp};
use crate::on_both_backends;

on_both_backends!(
    health_answers_once_ready,
    catalog_has_every_category_and_capability,
    catalog_filters_by_text_category_and_capability,
    integration_detail_shows_schema_and_asked_fields,
    unknown_slugs_and_routes_answer_the_envelope,
);

async fn health_answers_once_ready(app: TestApp) {
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

async fn catalog_has_every_category_and_capability(app: TestApp) {
    let body: Value = app
        .get("/v1/integrations/catalog")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["categories"].as_array().unwrap().len(), 11);
    let caps = body["capabilities"].as_array().unwrap();
    assert_eq!(caps.len(), 21);
    let receipt_qr = caps.iter().find(|c| c["slug"] == "receipt_qr").unwrap();
    assert_eq!(receipt_qr["mode"], "add");
    assert_eq!(receipt_qr["cap"], 3);
    assert_eq!(receipt_qr["status"], "live");
    assert_eq!(receipt_qr["capability_version"], 1);
    let pay = caps.iter().find(|c| c["slug"] == "pay_at_table").unwrap();
    assert_eq!(
        (pay["mode"].as_str(), pay["status"].as_str()),
        (Some("replace"), Some("reserved"))
    );
    let integrations = body["integrations"].as_array().unwrap();
    assert!(integrations.len() >= 12);
    // Every category count adds up to the integrations listed.
    let total: u64 = body["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["integration_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, integrations.len());
    for i in integrations {
        assert!(["platform_shared", "merchant_key", "oauth"]
            .contains(&i["auth_shape"].as_str().unwrap()));
        assert!(["available", "coming_soon"].contains(&i["status"].as_str().unwrap()));
    }
}

fn slugs(body: &Value) -> Vec<String> {
    body["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap().to_string())
        .collect()
}

async fn catalog_filters_by_text_category_and_capability(app: TestApp) {
    // Every word must match, in any field.
    let by_text: Value = app
        .get("/v1/integrations/catalog?q=Split%20bill")
        .await
        .json()
        .await
        .unwrap();
    let mut s = slugs(&by_text);
    s.sort();
    assert_eq!(s, vec!["qlub", "spliteasy", "splitwise"]);
    let by_text: Value = app
        .get("/v1/integrations/catalog?q=split%20WHATSAPP")
        .await
        .json()
        .await
        .unwrap();
    assert!(slugs(&by_text).is_empty());

    let by_cap: Value = app
        .get("/v1/integrations/catalog?capability=pay_at_table")
        .await
        .json()
        .await
        .unwrap();
    let mut s = slugs(&by_cap);
    s.sort();
    assert_eq!(s, vec!["qlub", "sunday"]);

    let receipt: Value = app
        .get("/v1/integrations/catalog?capability=receipt_qr")
        .await
        .json()
        .await
        .unwrap();
    assert!(slugs(&receipt).len() >= 4);

    let by_cat: Value = app
        .get("/v1/integrations/catalog?category=accounting")
        .await
        .json()
        .await
        .unwrap();
    let mut s = slugs(&by_cat);
    s.sort();
    assert_eq!(s, vec!["jurnal", "xero"]);

    let both: Value = app
        .get("/v1/integrations/catalog?category=payments&q=qris")
        .await
        .json()
        .await
        .unwrap();
    let mut s = slugs(&both);
    s.sort();
    assert_eq!(s, vec!["midtrans", "xendit"]);

    let none: Value = app
        .get("/v1/integrations/catalog?q=zzzz-nothing")
        .await
        .json()
        .await
        .unwrap();
    assert!(slugs(&none).is_empty());
}

async fn integration_detail_shows_schema_and_asked_fields(app: TestApp) {
    let resp = app.get("/v1/integrations/catalog/qlub").await;
    assert_eq!(resp.status(), 200);
    let d: Value = resp.json().await.unwrap();
    assert_eq!(d["auth_shape"], "merchant_key");
    assert_eq!(d["category"]["slug"], "payments");
    assert_eq!(d["capabilities"][0]["slug"], "pay_at_table");
    assert_eq!(d["config_schema"]["type"], "object");
    let fields = d["config_fields"].as_array().unwrap();
    let key = fields.iter().find(|f| f["name"] == "api_key").unwrap();
    assert_eq!(
        (key["secret"].as_bool(), key["required"].as_bool()),
        (Some(true), Some(true))
    );
    // Fields keep the schema's order.
    assert_eq!(fields[0]["name"], "api_key");
    assert_eq!(fields[1]["name"], "restaurant_id");
}

async fn unknown_slugs_and_routes_answer_the_envelope(app: TestApp) {
    let (status, code, _) = error_of(app.get("/v1/integrations/catalog/no-such-thing").await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let (status, code, _) = error_of(app.get("/v1/nothing/here").await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_json_route() {
    let app = TestApp::sqlite().await;
    let doc: Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/readyz",
        "/v1/locations/{id}/availability",
        "/v1/integrations/catalog",
        "/v1/integrations/catalog/{slug}",
        "/v1/me",
        "/v1/locations",
        "/v1/locations/{id}",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_file_with_mistakes_stops_start_up_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.json");
    std::fs::write(
        &file,
        r#"{"catalog_version":2,"categories":[],"capabilities":[],"integrations":[{"slug":"x","name":"X","category":"nope","capabilities":["y"],"auth_shape":"oauth","summary":"","description":"","partner_url":null,"status":"available","config_schema":{"type":"object"}}]}"#,
    )
    .unwrap();
    let config = server::Config {
        data_dir: dir.path().to_path_buf(),
        catalog_file: Some(file),
        ..server::Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = server::Application::with_listener(config, listener)
        .await
        .err()
        .expect("must refuse");
    let text = err.to_string();
    assert!(
        text.contains("unknown category") && text.contains("unknown capability"),
        "{text}"
    );
}
