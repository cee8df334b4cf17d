//! A backlog of acknowledged deliveries processed together: the processor
//! claims them in one batch and writes small plans a group at a time, with
//! bulk statements for the group's item upserts and outbox rows.
use serde_json::Value;

use crate::helpers::{bind, TestApp};
use crate::inbound::Pos;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let app = TestApp::sqlite_with(|c| c.inbound_processing = false).await;
    the_same_item_twice_in_one_group_ends_with_the_latest(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let app = TestApp::postgres_on(bind().await, |c| c.inbound_processing = false).await;
    if let Some(app) = app {
        the_same_item_twice_in_one_group_ends_with_the_latest(app).await;
    }
}

fn menu(sku: &str, name: &str, price: &str) -> String {
    format!(
        r#"{{"store_id":"outlet-7","items":[{{"sku":"{sku}","name":"{name}","category":"Mains","price":"{price}","currency":"IDR"}}]}}"#
    )
}

/// Several waiting events list the same SKU at one location. Written in
/// one group, the item is upserted once per (location, item) with the
/// latest event's values (PostgreSQL refuses to upsert a row twice in one
/// statement), every event ends processed, and each keeps its own
/// commands and events in the outbox.
async fn the_same_item_twice_in_one_group_ends_with_the_latest(app: TestApp) {
    let pos = Pos::with(&app, true).await;
    let loc = pos.m.location("Antrian").await;
    pos.map_store("outlet-7", &loc).await;

    // Acknowledged by a server that does not process: they wait.
    let bodies = [
        menu("NG-01", "Nasi goreng", "30000"),
        menu("MG-02", "Mie goreng", "28000"),
        menu("NG-01", "Nasi goreng spesial", "35000"),
        menu("NG-01", "Nasi goreng istimewa", "42000"),
    ];
    let mut ids = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let ack: Value = pos
            .post("menu", body, &format!("backlog-{i}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ack["status"], "accepted", "{ack}");
        ids.push(ack["event_id"].as_str().unwrap().to_string());
    }
    let waiting = pos.events().await;
    assert!(
        waiting.iter().all(|e| e["status"] == "received"),
        "nothing is processed yet: {waiting:?}"
    );

    // A processor on the same database and files takes the backlog at once.
    let mut config = app.config.clone();
    config.inbound_processing = true;
    config.demo_data = false;
    let processor = server::Application::with_listener(config, bind().await)
        .await
        .expect("processor builds");
    tokio::spawn(processor.run_until_stopped());

    for id in &ids {
        let event = pos.settled(id).await;
        assert_eq!(event["status"], "processed", "{event}");
    }
    let catalog = pos.catalog(&loc).await;
    let items = catalog["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "one row per item: {catalog}");
    let nasi = items.iter().find(|i| i["sku"] == "NG-01").unwrap();
    assert_eq!(
        nasi["name"], "Nasi goreng istimewa",
        "the latest event wins"
    );
    assert_eq!(nasi["price_minor"], 4_200_000);
    let mie = items.iter().find(|i| i["sku"] == "MG-02").unwrap();
    assert_eq!(mie["price_minor"], 2_800_000);

    // Each event's command and events, none merged away.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE topic = 'catalog.commands'")
            .await,
        4
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE topic = 'pricing.events'")
            .await,
        4
    );
    assert_eq!(pos.events().await.len(), 4);
}
