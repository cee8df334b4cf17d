//! Seed 001's `POST /v1/integrations/{slug}/webhook`: per-install secret,
//! `X-{Slug}-Signature`, dedupe by (install, event id), the seed's error
//! codes, and the event forwarded on `partner.events`.
use app::domain::inbound::verify::{sign, Digest, Encoding};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, Merchant, TestApp};
use crate::on_both_backends;

on_both_backends!(partner_events_are_verified_deduped_and_forwarded,);

async fn rotate(m: &Merchant<'_>, install: &str, body: Option<Value>) -> String {
    let mut req = m.app.bearer(
        Method::POST,
        &format!("/v1/installs/{install}/webhook-secret"),
        &m.token,
    );
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    secret
}

async fn post(
    app: &TestApp,
    slug: &str,
    body: &str,
    secret: &str,
    prefix: &str,
) -> reqwest::Response {
    let sig = sign(
        Digest::Sha256,
        Encoding::Hex,
        secret.as_bytes(),
        body.as_bytes(),
    );
    reqwest::Client::new()
        .post(app.url(&format!("/v1/integrations/{slug}/webhook")))
        .header(format!("X-{slug}-Signature"), format!("{prefix}{sig}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn event(install: &str, id: &str) -> String {
    json!({"event_id": id, "type": "replenishment.received", "install_id": install,
           "data": {"po": "PO-1", "lines": [{"sku": "BEAN-1", "qty": 12}]}})
    .to_string()
}

async fn partner_events_are_verified_deduped_and_forwarded(app: TestApp) {
    let m = Merchant::new(&app, "Toko Partner").await;
    let crisp = m
        .installed(
            "crisp",
            None,
            json!({"api_key": "k-12345678", "buyer_id": "B1"}),
        )
        .await;
    let install = crisp["id"].as_str().unwrap().to_string();

    // No secret yet: nothing can be signed.
    let resp = post(&app, "crisp", &event(&install, "e-0"), "guess", "").await;
    assert_eq!(error_of(resp).await.1, "invalid_signature");

    let secret = rotate(&m, &install, None).await;
    app.assert_nowhere_in_database(&secret).await;

    // Signed: accepted, processed, forwarded on partner.events.
    let resp = post(&app, "crisp", &event(&install, "e-1"), &secret, "sha256=").await;
    assert_eq!(resp.status(), 200);
    let ack: Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
    let mut forwarded = 0;
    for _ in 0..200 {
        forwarded = app
            .count("SELECT COUNT(*) FROM outbox WHERE topic = 'partner.events'")
            .await;
        if forwarded > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(forwarded, 1);

    // The same event id again: 200, said to be a duplicate, not forwarded again.
    let resp = post(&app, "crisp", &event(&install, "e-1"), &secret, "").await;
    let dup: Value = resp.json().await.unwrap();
    assert_eq!(dup["status"], "duplicate", "{dup}");
    assert_eq!(dup["duplicate_of"], ack["event_id"]);

    // Wrong secret, tampered body: 401 invalid_signature.
    let resp = post(&app, "crisp", &event(&install, "e-2"), "not-the-secret", "").await;
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (401, "invalid_signature"));
    // The documented error codes.
    let resp = post(&app, "nope", &event(&install, "e-3"), &secret, "").await;
    assert_eq!(error_of(resp).await.1, "not_found");
    let resp = post(&app, "midtrans", &event(&install, "e-3"), &secret, "").await;
    assert_eq!(error_of(resp).await.1, "integration_not_installed");
    let resp = post(&app, "crisp", r#"{"type": "x"}"#, &secret, "").await;
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));

    // Rotation: the previous secret works during the overlap...
    let second = rotate(&m, &install, Some(json!({"overlap_seconds": 3600}))).await;
    for (id, s) in [("e-4", &secret), ("e-5", &second)] {
        let ack: Value = post(&app, "crisp", &event(&install, id), s, "")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ack["status"], "accepted", "{id}: {ack}");
    }
    // ...and not after a rotation without overlap.
    let third = rotate(&m, &install, Some(json!({"overlap_seconds": 0}))).await;
    let resp = post(&app, "crisp", &event(&install, "e-6"), &second, "").await;
    assert_eq!(error_of(resp).await.1, "invalid_signature");
    let resp = m
        .app
        .bearer(
            Method::POST,
            &format!("/v1/installs/{install}/webhook-secret"),
            &m.token,
        )
        .json(&json!({"overlap_seconds": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_request");

    // Disabled by the merchant: 409 integration_disabled.
    let resp = m
        .call(Method::POST, &format!("/v1/installs/{install}/disable"))
        .await;
    assert_eq!(resp.status(), 200);
    let resp = post(&app, "crisp", &event(&install, "e-7"), &third, "").await;
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (409, "integration_disabled"));

    // An integration without an inbound capability: capability_unsupported.
    let split = m.installed("spliteasy", None, json!({})).await;
    let split_id = split["id"].as_str().unwrap().to_string();
    let split_secret = rotate(&m, &split_id, None).await;
    let resp = post(
        &app,
        "spliteasy",
        &event(&split_id, "s-1"),
        &split_secret,
        "",
    )
    .await;
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (400, "capability_unsupported"));

    // Another merchant cannot rotate this install's secret.
    let other = Merchant::new(&app, "Someone Else").await;
    let resp = other
        .app
        .bearer(
            Method::POST,
            &format!("/v1/installs/{install}/webhook-secret"),
            &other.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "integration_not_installed");
}
