//! The outbox relayed to NATS JetStream (the machine's nats-server, or one
//! of the test's own): every row once per subject, repeats dropped by
//! message id, nothing lost while NATS is down, and `plugboard events tail`.
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::StreamExt;
use reqwest::Method;
use serde_json::Value;

use crate::engines::{nats_url, unused_port, NatsServer};
use crate::helpers::TestApp;
use crate::inbound::{Pos, MENU};

/// A mapped POS that creates items, and its merchant id.
async fn menu_merchant(app: &TestApp) -> (Pos<'_>, String) {
    let pos = Pos::with(app, true).await;
    let loc = pos.m.location("Senopati").await;
    pos.map_store("outlet-7", &loc).await;
    let me: Value = pos
        .m
        .call(Method::GET, "/v1/me")
        .await
        .json()
        .await
        .unwrap();
    let merchant = me["merchant_id"].as_str().unwrap().to_string();
    (pos, merchant)
}

/// Waits until the relay's cursor has passed every outbox row (bounded).
async fn relayed(app: &TestApp) -> bool {
    for _ in 0..200 {
        let newest = app.count("SELECT COALESCE(MAX(id), 0) FROM outbox").await;
        let cursor = app
            .count("SELECT COALESCE(MAX(last_id), -1) FROM outbox_cursors WHERE consumer = 'nats-relay'")
            .await;
        if newest > 0 && cursor >= newest {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Every message JetStream keeps on `subject`: (msg id, body).
async fn messages(url: &str, stream: &str, subject: &str) -> Vec<(String, Value)> {
    let client = async_nats::connect(url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream(stream).await.unwrap();
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: subject.to_string(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut stream = consumer.messages().await.unwrap();
    let mut out = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(1), stream.next()).await
    {
        let id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        out.push((id, serde_json::from_slice(&msg.payload).unwrap()));
        if out.len() > 1000 {
            break;
        }
    }
    out
}

async fn outbox_rows_reach_jetstream_once_each(app: TestApp) {
    let url = app.config.nats_url.as_ref().unwrap().0.clone();
    // The test's database holds this one merchant.
    let (pos, merchant) = menu_merchant(&app).await;
    let event = pos.deliver("menu", MENU, "nats-1").await;
    assert_eq!(event["status"], "processed", "{event}");
    assert!(relayed(&app).await, "the relay passed every outbox row");
    let expected = app
        .count("SELECT COUNT(*) FROM outbox WHERE topic = 'catalog.commands'")
        .await;
    assert!(expected >= 1);
    let subject = format!("plugboard.catalog.commands.{merchant}");
    let got = messages(&url, "PLUGBOARD_CATALOG", &subject).await;
    assert_eq!(got.len() as i64, expected, "{got:?}");
    for (id, body) in &got {
        assert_eq!(id, &format!("{merchant}:{}", body["id"]), "{body}");
        assert_eq!(body["topic"], "catalog.commands");
        assert_eq!(body["kind"], "command");
        assert_eq!(body["merchant_id"], merchant.as_str());
    }
    // Pricing events went to their own stream.
    let pricing = messages(
        &url,
        "PLUGBOARD_PRICING",
        &format!("plugboard.pricing.events.{merchant}"),
    )
    .await;
    assert!(!pricing.is_empty());

    // A relay that publishes everything again (as after a crash between
    // publishing and moving its cursor) adds nothing: JetStream drops the
    // repeats by message id.
    let reset = app
        .count(
            "UPDATE outbox_cursors SET last_id = 0 WHERE consumer = 'nats-relay' RETURNING last_id",
        )
        .await;
    assert_eq!(reset, 0);
    assert!(relayed(&app).await);
    assert_eq!(
        messages(&url, "PLUGBOARD_CATALOG", &subject).await.len() as i64,
        expected,
        "repeats are dropped"
    );

    // `plugboard events tail` prints them as JSON lines.
    let out = app.cli(
        &[
            "events",
            "tail",
            "--topic",
            "catalog.commands",
            "--merchant",
            &merchant,
            "--from-start",
            "--count",
            "1",
            "--idle-secs",
            "10",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["subject"], subject.as_str());
    assert_eq!(line["message"]["topic"], "catalog.commands");
    assert_eq!(line["msg_id"], got[0].0.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_rows_reach_jetstream_once_each_on_sqlite() {
    let Some(url) = nats_url().await else { return };
    let app = TestApp::sqlite_with(|c| c.nats_url = Some(server::config::Redacted(url))).await;
    outbox_rows_reach_jetstream_once_each(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_rows_reach_jetstream_once_each_on_postgres() {
    let Some(url) = nats_url().await else { return };
    let Some(app) = TestApp::postgres_on(crate::helpers::bind().await, |c| {
        c.nats_url = Some(server::config::Redacted(url))
    })
    .await
    else {
        return;
    };
    outbox_rows_reach_jetstream_once_each(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nats_down_the_outbox_waits_and_is_relayed_when_it_is_back() {
    let port = unused_port();
    let url = format!("nats://127.0.0.1:{port}");
    let app =
        TestApp::sqlite_with(|c| c.nats_url = Some(server::config::Redacted(url.clone()))).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    let nats = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "nats")
        .cloned()
        .unwrap();
    assert_eq!(nats["ok"], false, "{ready}");
    // Work goes on; the outbox keeps what NATS cannot take.
    let (pos, merchant) = menu_merchant(&app).await;
    assert_eq!(
        pos.deliver("menu", MENU, "down-1").await["status"],
        "processed"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        app.count(
            "SELECT COALESCE(MAX(last_id), 0) FROM outbox_cursors WHERE consumer = 'nats-relay'"
        )
        .await
            == 0,
        "nothing is marked relayed while NATS is down"
    );
    // NATS comes up: everything is relayed, readiness recovers.
    let Some(_nats) = NatsServer::start(port).await else {
        return;
    };
    assert!(relayed(&app).await, "relayed after NATS came back");
    let got = messages(
        &url,
        "PLUGBOARD_CATALOG",
        &format!("plugboard.catalog.commands.{merchant}"),
    )
    .await;
    assert!(!got.is_empty());
    let mut ready = 0;
    for _ in 0..100 {
        ready = app.get("/readyz").await.status().as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200);
}
