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
    start_processor(&app).await;

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

/// Starts a processor on the same database and files.
async fn start_processor(app: &TestApp) {
    let mut config = app.config.clone();
    config.inbound_processing = true;
    config.demo_data = false;
    let processor = server::Application::with_listener(config, bind().await)
        .await
        .expect("processor builds");
    tokio::spawn(processor.run_until_stopped());
}

/// Acknowledges `n` menu events on `pos`; answers their ids.
async fn acknowledge(pos: &Pos<'_>, n: usize, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = menu("NG-01", &format!("Nasi goreng {tag} {i}"), "30000");
        let ack: Value = pos
            .post("menu", &body, &format!("{tag}-{i}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ack["status"], "accepted", "{ack}");
        ids.push(ack["event_id"].as_str().unwrap().to_string());
    }
    ids
}

async fn execute(app: &TestApp, sql: &str) {
    use sqlx::Connection;
    let url = app.config.database_url.as_deref().unwrap();
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sql).execute(&mut c).await.unwrap();
}

async fn status(pos: &Pos<'_>, id: &str) -> String {
    let events = pos.events().await;
    let event = events.iter().find(|e| e["id"] == id).expect("event listed");
    event["status"].as_str().unwrap().to_string()
}

/// Replicas share the backlog, yet one provider connection's events are
/// applied in the order they were received: while another processor
/// holds an earlier event of a connection, its later events wait (other
/// connections' events go on); once that holder's claim expires (it
/// died), they are all processed, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_holds_one_connections_order_across_processors() {
    let Some(app) = TestApp::postgres_on(bind().await, |c| c.inbound_processing = false).await
    else {
        return;
    };
    let held = Pos::with(&app, true).await;
    let other = Pos::with(&app, true).await;
    let mut locations = Vec::new();
    for pos in [&held, &other] {
        let loc = pos.m.location("Antrian").await;
        pos.map_store("outlet-7", &loc).await;
        locations.push(loc);
    }
    let held_ids = acknowledge(&held, 3, "held").await;
    let other_ids = acknowledge(&other, 2, "other").await;
    // Another, live processor holds the first event of `held`.
    execute(
        &app,
        &format!(
            "UPDATE inbound_events SET claimed_until = now() + interval '10 minutes' WHERE id = '{}'",
            held_ids[0]
        ),
    )
    .await;

    start_processor(&app).await;

    for id in &other_ids {
        assert_eq!(other.settled(id).await["status"], "processed");
    }
    // Several of the processor's rounds later, `held` still waits.
    for _ in 0..8 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        for id in &held_ids {
            assert_eq!(
                status(&held, id).await,
                "received",
                "{id} must wait behind the held event"
            );
        }
    }

    // The holder died: its claim expires, and the connection's events are
    // processed, in the order they came.
    execute(
        &app,
        &format!(
            "UPDATE inbound_events SET claimed_until = now() - interval '1 second' WHERE id = '{}'",
            held_ids[0]
        ),
    )
    .await;
    for id in &held_ids {
        assert_eq!(held.settled(id).await["status"], "processed");
    }
    let out_of_order = app
        .count(&format!(
            "SELECT COUNT(*) FROM inbound_events a JOIN inbound_events b \
             ON a.connection_id = b.connection_id AND a.id < b.id \
             WHERE a.id IN ('{0}', '{1}', '{2}') AND b.id IN ('{0}', '{1}', '{2}') \
             AND a.processed_at > b.processed_at",
            held_ids[0], held_ids[1], held_ids[2]
        ))
        .await;
    assert_eq!(out_of_order, 0, "processed in the order received");
    let catalog = held.catalog(&locations[0]).await;
    assert_eq!(
        catalog["items"][0]["name"], "Nasi goreng held 2",
        "the last received event wins: {catalog}"
    );
}
