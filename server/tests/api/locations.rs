//! `/v1/locations` with bearer tokens, validation, and tenant isolation.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, location, TestApp};
use crate::on_both_backends;

on_both_backends!(
    locations_can_be_added_renamed_and_removed,
    invalid_locations_name_every_bad_field,
    one_merchant_cannot_see_or_touch_another_merchants_locations,
    external_ids_are_unique_per_provider,
);

async fn locations_can_be_added_renamed_and_removed(app: TestApp) {
    let token = app.merchant_token("Rename Co").await;
    let resp = app
        .bearer(Method::POST, "/v1/locations", &token)
        .json(&location("Jakarta"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["timezone"], "Asia/Jakarta");

    let body = json!({"name": "Jakarta — Kemang", "city": "Jakarta Selatan", "timezone": "Asia/Jakarta",
                      "external_ids": [{"provider": "revel", "external_id": "42"}]});
    let resp = app
        .bearer(Method::PUT, &format!("/v1/locations/{id}"), &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let updated: Value = resp.json().await.unwrap();
    assert_eq!(updated["name"], "Jakarta — Kemang");
    assert_eq!(updated["external_ids"][0]["external_id"], "42");

    let resp = app
        .bearer(Method::POST, "/v1/locations", &token)
        .json(&location("Jakarta — Kemang"))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (409, "conflict"));

    let list: Value = app
        .bearer(Method::GET, "/v1/locations", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let resp = app
        .bearer(Method::DELETE, &format!("/v1/locations/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (status, _, _) = error_of(
        app.bearer(Method::GET, &format!("/v1/locations/{id}"), &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

async fn invalid_locations_name_every_bad_field(app: TestApp) {
    let token = app.merchant_token("Strict Co").await;
    let resp = app
        .bearer(Method::POST, "/v1/locations", &token)
        .json(&json!({"name": " ", "city": "", "timezone": "Mars/Olympus"}))
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["name", "city", "timezone"]);

    // Malformed JSON, wrong content type, wrong shape, bad id: all in the envelope.
    let resp = app
        .bearer(Method::POST, "/v1/locations", &token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 400);
    let resp = app
        .bearer(Method::POST, "/v1/locations", &token)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 400);
    let resp = app
        .bearer(Method::POST, "/v1/locations", &token)
        .json(&json!({"name": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 400);
    let resp = app
        .bearer(Method::GET, "/v1/locations/not-a-uuid", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 404);
}

async fn one_merchant_cannot_see_or_touch_another_merchants_locations(app: TestApp) {
    let alice = app.merchant_token("Alice's").await;
    let bob = app.merchant_token("Bob's").await;
    let created: Value = app
        .bearer(Method::POST, "/v1/locations", &alice)
        .json(&location("Secret Outlet"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/locations/{id}");

    let bobs: Value = app
        .bearer(Method::GET, "/v1/locations", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bobs.as_array().unwrap().len(), 0);
    // Bob gets the same answer as for an id that does not exist at all.
    let missing = format!("/v1/locations/{}", uuid::Uuid::new_v4());
    for p in [path.as_str(), missing.as_str()] {
        let (status, code, body) =
            error_of(app.bearer(Method::GET, p, &bob).send().await.unwrap()).await;
        assert_eq!(
            (status, code.as_str(), body["error"]["message"].as_str()),
            (404, "not_found", Some("No such location."))
        );
    }
    let (status, _, _) = error_of(
        app.bearer(Method::PUT, &path, &bob)
            .json(&location("Mine now"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = error_of(
        app.bearer(Method::DELETE, &path, &bob)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    // Alice still has it, unchanged.
    let still: Value = app
        .bearer(Method::GET, &path, &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(still["name"], "Secret Outlet");
    // Bob may use the same name for his own outlet.
    let resp = app
        .bearer(Method::POST, "/v1/locations", &bob)
        .json(&location("Secret Outlet"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

async fn external_ids_are_unique_per_provider(app: TestApp) {
    let a = app.merchant_token("A").await;
    let b = app.merchant_token("B").await;
    let mut body = location("One");
    body["external_ids"] = json!([{"provider": "revel", "external_id": "1001"}]);
    assert_eq!(
        app.bearer(Method::POST, "/v1/locations", &a)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let mut other = location("Two");
    other["external_ids"] = json!([{"provider": "revel", "external_id": "1001"}]);
    let (status, code, _) = error_of(
        app.bearer(Method::POST, "/v1/locations", &b)
            .json(&other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    // Nothing half-created: the failed location does not exist.
    let list: Value = app
        .bearer(Method::GET, "/v1/locations", &b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
    other["external_ids"] = json!([{"provider": "lightspeed", "external_id": "1001"}]);
    assert_eq!(
        app.bearer(Method::POST, "/v1/locations", &b)
            .json(&other)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
}
