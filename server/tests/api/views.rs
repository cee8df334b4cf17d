//! The Redis views of item availability and store status: kept current
//! from the canonical events, served by the read API, rebuilt from the
//! database by `plugboard views rebuild` (the machine's Redis).
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::inbound::{Pos, MENU};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn redis() -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(REDIS_URL).unwrap();
    match tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    {
        Ok(Ok(c)) => Some(c),
        _ => {
            eprintln!("SKIP (Redis unreachable at {REDIS_URL})");
            None
        }
    }
}

/// Polls the view until `check` holds (bounded: 10 s).
async fn view_until(pos: &Pos<'_>, loc: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let resp = pos
            .m
            .call(Method::GET, &format!("/v1/locations/{loc}/availability"))
            .await;
        assert_eq!(resp.status(), 200);
        last = resp.json().await.unwrap();
        if check(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the view never got there: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_and_store_status_views_follow_events_and_rebuild() {
    let Some(mut conn) = redis().await else {
        return;
    };
    let app = TestApp::sqlite_with(|c| {
        c.redis_url = Some(server::config::Redacted(REDIS_URL.into()));
    })
    .await;
    let pos = Pos::with(&app, true).await;
    let loc = pos.m.location("Kemang").await;
    pos.map_store("outlet-7", &loc).await;
    assert_eq!(
        pos.deliver("menu", MENU, "v-1").await["status"],
        "processed"
    );
    let catalog = pos.catalog(&loc).await;
    let item = catalog["items"][0]["item_id"].as_str().unwrap().to_string();
    let view = view_until(&pos, &loc, |v| v["items"][&item] == true).await;
    assert_eq!(view["source"], "redis");

    let sold_out = r#"{"store_id":"outlet-7","items":[{"sku":"NG-01","available":false}]}"#;
    assert_eq!(
        pos.deliver("inventory", sold_out, "v-2").await["status"],
        "processed"
    );
    view_until(&pos, &loc, |v| v["items"][&item] == false).await;
    let closed = r#"{"store_id":"outlet-7","status":"closed","reason":"renovation"}"#;
    assert_eq!(
        pos.deliver("store-status", closed, "v-3").await["status"],
        "processed"
    );
    let view = view_until(&pos, &loc, |v| v["open"] == false).await;
    assert_eq!(view["closed_reason"], "renovation");

    // Lost from Redis (a flush, a new Redis): the rebuild restores it from
    // the database.
    let _: () = redis::cmd("DEL")
        .arg(format!("plugboard:views:{loc}:items"))
        .arg(format!("plugboard:views:{loc}:store"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let emptied = view_until(&pos, &loc, |v| v["open"].is_null()).await;
    assert_eq!(emptied["items"], serde_json::json!({}));
    let cli = app.cli(&["views", "rebuild"], None);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let rebuilt = view_until(&pos, &loc, |v| v["open"] == false).await;
    assert_eq!(rebuilt["items"][&item], false);

    // Another merchant's location is not found.
    let other = crate::helpers::Merchant::new(&app, "Other Warung").await;
    let resp = other
        .call(Method::GET, &format!("/v1/locations/{loc}/availability"))
        .await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_view_is_read_from_the_database() {
    let app = TestApp::sqlite().await;
    let pos = Pos::with(&app, true).await;
    let loc = pos.m.location("Kemang").await;
    pos.map_store("outlet-7", &loc).await;
    assert_eq!(
        pos.deliver("menu", MENU, "d-1").await["status"],
        "processed"
    );
    let view = view_until(&pos, &loc, |v| {
        v["items"].as_object().is_some_and(|m| m.len() == 1)
    })
    .await;
    assert_eq!(view["source"], "database");
    assert!(view["open"].is_null());
}
