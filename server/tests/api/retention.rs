//! Inbound retention: past the window, events in a final state and their
//! idempotency keys go; events still waiting to be processed never do.
use crate::helpers::TestApp;
use crate::inbound::{Pos, MENU};

async fn wait_for(app: &TestApp, sql: &str, expected: i64) -> i64 {
    let mut n = -1;
    for _ in 0..100 {
        n = app.count(sql).await;
        if n == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_and_keys_are_purged_but_never_unprocessed_ones() {
    let app = TestApp::sqlite_with(|c| {
        c.inbound_retention_days = 0;
        c.inbound_purge_interval_secs = 1;
    })
    .await;
    let pos = Pos::new(&app).await;
    // An unmapped store: the event fails (a final state, reported on
    // integration.failures) and is then purged.
    let ack: serde_json::Value = pos.post("menu", MENU, "ret-1").await.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
    assert_eq!(
        wait_for(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE topic = 'integration.failures'",
            1
        )
        .await,
        1
    );
    assert_eq!(
        wait_for(&app, "SELECT COUNT(*) FROM inbound_events", 0).await,
        0,
        "final events past the window are deleted"
    );
    assert_eq!(
        wait_for(&app, "SELECT COUNT(*) FROM inbound_idempotency", 0).await,
        0
    );
    // Past the window, the same event id is new again.
    let ack: serde_json::Value = pos.post("menu", MENU, "ret-1").await.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_waiting_to_be_processed_survive_the_purge() {
    let app = TestApp::sqlite_with(|c| {
        c.inbound_retention_days = 0;
        c.inbound_purge_interval_secs = 1;
        c.inbound_processing = false;
    })
    .await;
    let pos = Pos::new(&app).await;
    let ack: serde_json::Value = pos.post("menu", MENU, "wait-1").await.json().await.unwrap();
    assert_eq!(ack["status"], "accepted");
    // Several purges run meanwhile.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM inbound_events WHERE status = 'received'")
            .await,
        1
    );
}
