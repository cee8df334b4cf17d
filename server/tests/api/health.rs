//! Liveness, readiness naming each engine, and the process roles.
use serde_json::Value;

use crate::helpers::{Process, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_lists_every_engine_and_fails_naming_the_broken_one() {
    let app = TestApp::sqlite().await;
    let alive: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(alive, serde_json::json!({"status": "ok", "role": "all"}));
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 200);
    let ready: Value = resp.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let names: Vec<(&str, &str)> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["backend"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("database", "sqlite"), ("payload_store", "local")]);

    // NATS configured but down: unready, and the answer says which.
    let port = crate::engines::unused_port();
    let dead = TestApp::sqlite_with(|c| {
        c.nats_url = Some(server::config::Redacted(format!("nats://127.0.0.1:{port}")));
    })
    .await;
    let resp = dead.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let ready: Value = resp.json().await.unwrap();
    assert_eq!(ready["status"], "unready");
    let failed: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["nats"], "{ready}");
    // Still alive: a restart would not help.
    assert_eq!(dead.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_serves_health_only_and_an_api_node_leaves_processing_to_it() {
    let data = tempfile::tempdir().unwrap();
    let api_port = Process::free_port();
    let api = Process::start(data.path(), api_port, &[("PLUGBOARD_ROLE", "api")]).await;
    let token = api.merchant_token("Role Warung", "role@example.com").await;
    let client = reqwest::Client::new();
    // An inbound connection and a delivery acknowledged by the API node.
    let created: Value = client
        .post(format!("{}/v1/provider-connections", api.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"provider": "restopos", "account_id": "role-acct"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    let ack = crate::inbound::post_restopos(
        &api.url,
        "role-acct",
        &secret,
        "menu",
        crate::inbound::MENU,
        "role-1",
    )
    .await;
    assert_eq!(ack["status"], "accepted", "{ack}");
    let status = |body: Value| body[0]["status"].as_str().unwrap_or_default().to_string();
    let events = || async {
        client
            .get(format!("{}/v1/inbound/events", api.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        status(events().await),
        "received",
        "the API node does not process"
    );

    // A worker on the same database takes it; it serves nothing but health.
    let worker_port = Process::free_port();
    let worker = Process::start(data.path(), worker_port, &[("PLUGBOARD_ROLE", "worker")]).await;
    let alive: Value = reqwest::get(format!("{}/healthz", worker.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alive["role"], "worker");
    assert_eq!(
        reqwest::get(format!("{}/readyz", worker.url))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{}/v1/catalog", worker.url))
            .await
            .unwrap()
            .status(),
        404
    );
    let mut last = String::new();
    for _ in 0..100 {
        last = status(events().await);
        if last != "received" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        last, "failed",
        "the worker processed it (an unmapped store fails)"
    );
    worker.kill();
    api.kill();
}
