//! The support console's server functions: role check, filters, detail,
//! mapping fixes, single and bulk replay (audited), refused-delivery
//! counts, and trying a script on a stored delivery.
use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::inbound::{Pos, MENU};
use crate::on_every_engine;

on_every_engine!(support_finds_fixes_and_replays_failed_deliveries,);

/// Signs `app.client` in as a new support agent.
pub(crate) async fn support_agent(app: &TestApp) {
    let out = app.cli(
        &[
            "users",
            "create",
            "--email",
            "agent@plugboard.local",
            "--password-stdin",
        ],
        Some("agent password 123\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp = app
        .server_fn(
            "sign_in",
            &[
                ("email", "agent@plugboard.local"),
                ("password", "agent password 123"),
            ],
        )
        .await;
    assert!(resp.status().is_success() || resp.status().is_redirection());
}

pub(crate) async fn call(app: &TestApp, name: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app.server_fn(name, form).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn menu_for(store: &str, sku: &str) -> String {
    MENU.replace("outlet-7", store).replace("NG-01", sku)
}

async fn support_finds_fixes_and_replays_failed_deliveries(app: TestApp) {
    let pos = Pos::with(&app, true).await;
    let loc = pos.m.location("Menteng").await;
    let first = pos
        .deliver("menu", &menu_for("outlet-9", "SATE-1"), "s-1")
        .await;
    assert_eq!(first["failure_class"], "mapping");
    let malformed = r#"{"store": 9}"#;
    assert_eq!(
        pos.deliver("menu", malformed, "s-2").await["failure_class"],
        "validation"
    );

    // Merchants are refused.
    let merchant = app.other_browser("Nosy Merchant").await;
    let resp = merchant
        .post(app.url("/api/support_events"))
        .header("Origin", app.origin())
        .form(&[("class", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    support_agent(&app).await;
    let count = |v: &Value| v.as_array().map(Vec::len).unwrap_or(usize::MAX);
    let (status, all) = call(&app, "support_events", &[]).await;
    assert_eq!((status, count(&all)), (200, 2), "{all}");
    for (filter, expected) in [
        (("class", "mapping"), 1),
        (("class", "validation"), 1),
        (("provider", "wms"), 0),
        (("merchant", "warung INB"), 2),
        (("merchant", "nobody"), 0),
        (("since", "2099-01-01"), 0),
        (("until", "2099-01-01"), 2),
    ] {
        let (_, list) = call(&app, "support_events", &[filter]).await;
        assert_eq!(count(&list), expected, "{filter:?}: {list}");
    }
    let (status, bad) = call(&app, "support_events", &[("since", "last tuesday")]).await;
    assert_eq!(status, 400, "{bad}");

    // The detail shows headers (secrets redacted), the body, and what the
    // body says now: the store to map.
    let id = first["id"].as_str().unwrap();
    let (_, d) = call(&app, "load_support_event", &[("id", id)]).await;
    assert_eq!(d["parsed_store"], "outlet-9", "{d}");
    assert_eq!(d["skus"], serde_json::json!(["SATE-1"]));
    assert!(d["headers"].as_str().unwrap().contains("[redacted]"));
    assert!(!d["headers"].as_str().unwrap().contains(&pos.secret));
    assert!(d["body"].as_str().unwrap().contains("SATE-1"));
    assert_eq!(d["locations"][0]["name"], "Menteng");

    // Map the store, replay: processed, the item is in the location's catalog.
    let (status, mapped) = call(
        &app,
        "support_map_store",
        &[
            ("event_id", id),
            ("provider_store_id", "outlet-9"),
            ("location_id", &loc),
        ],
    )
    .await;
    assert_eq!(status, 200, "{mapped}");
    let (_, replayed) = call(&app, "support_replay", &[("id", id)]).await;
    assert_eq!(replayed["event"]["status"], "processed", "{replayed}");
    assert_eq!(replayed["location_name"], "Menteng");
    let (_, catalog) = call(&app, "support_location_catalog", &[("id", &loc)]).await;
    assert_eq!(catalog[1]["items"][0]["sku"], "SATE-1", "{catalog}");
    assert_eq!(catalog[1]["items"][0]["price"], "35000.00");

    // Bulk: three failures of another store; one mapping, one bulk replay.
    for n in 0..3 {
        let e = pos
            .deliver(
                "menu",
                &menu_for("outlet-10", &format!("B-{n}")),
                &format!("b-{n}"),
            )
            .await;
        assert_eq!(e["failure_class"], "mapping");
    }
    let (_, list) = call(&app, "support_events", &[("class", "mapping")]).await;
    let some = list[0]["event"]["id"].as_str().unwrap().to_string();
    call(
        &app,
        "support_map_store",
        &[
            ("event_id", &some),
            ("provider_store_id", "outlet-10"),
            ("location_id", &loc),
        ],
    )
    .await;
    let (_, report) = call(&app, "support_replay_matching", &[("class", "mapping")]).await;
    assert_eq!(
        (
            report["matched"].as_u64(),
            report["processed"].as_u64(),
            report["still_failed"].as_u64()
        ),
        (Some(3), Some(3), Some(0)),
        "{report}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'inbound_event.bulk_replayed'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'inbound_event.replayed'")
            .await,
        1
    );
    // Replaying again finds nothing: idempotent.
    let (_, again) = call(&app, "support_replay_matching", &[("class", "mapping")]).await;
    assert_eq!(again["matched"], 0);
    let (_, catalog) = call(&app, "support_location_catalog", &[("id", &loc)]).await;
    assert_eq!(catalog[1]["items"].as_array().unwrap().len(), 4);

    // Refused deliveries are counted for support (flushed every 5 s).
    let resp = pos.post_signed("menu", MENU, "r-1", 0, "wrong").await;
    assert_eq!(resp.status(), 401);
    let mut seen = Value::Null;
    for _ in 0..80 {
        let (_, list) = call(&app, "support_auth_failures", &[]).await;
        if count(&list) > 0 {
            seen = list;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen[0]["provider"], "restopos", "{seen}");
    assert!(seen[0]["last_hour"].as_i64().unwrap() >= 1);

    // Scripts: listed, tried on a stored delivery, activated.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/adapters");
    let out = app.cli(&["scripts", "deploy", "--dir", dir.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, scripts) = call(&app, "support_scripts", &[]).await;
    let square = scripts
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["provider"] == "square")
        .unwrap_or_else(|| panic!("square in {scripts}"));
    assert_eq!(square["active"], true);
    let script_id = square["id"].as_str().unwrap();
    let (_, trial) = call(
        &app,
        "support_try_script",
        &[("script_id", script_id), ("event_id", id)],
    )
    .await;
    assert_eq!(trial["outcome"], "skip", "{trial}");
    let (status, _) = call(
        &app,
        "support_try_script",
        &[("script_id", script_id), ("event_id", "not-an-id")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, activated) =
        call(&app, "support_activate_script", &[("script_id", script_id)]).await;
    assert_eq!((status, activated["active"].as_bool()), (200, Some(true)));

    // The merchant's own API sees the fixed events too.
    let events: Vec<Value> = pos
        .m
        .call(Method::GET, "/v1/inbound/events?status=processed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_failed_outbound_deliveries_and_resends_them() {
    use crate::receiver::Receiver;
    use crate::webhooks::Shop;
    let app = TestApp::sqlite_with(|c| c.delivery_clock_scale = 0.001).await;
    let shop = Shop::new(&app, "Warung Outbound").await;
    let rx = Receiver::start().await;
    rx.otherwise(500, "down");
    let url = rx.url("/hook");
    shop.register(serde_json::json!({"url": url})).await;
    let order = shop.dispatch("ORD-SUP-1", serde_json::json!({})).await;
    let order_id = order["orderId"].as_str().unwrap().to_string();
    shop.order_until(&order_id, |o| o["order"]["dispatchStatus"] == "failed")
        .await;

    // Merchants cannot read the console.
    app.sign_up("Nosy Merchant", "nosy@example.com").await;
    let (status, _) = call(&app, "support_failed_deliveries", &[]).await;
    assert_eq!(status, 403);
    let _ = app.server_fn("sign_out", &[]).await;

    support_agent(&app).await;
    let (status, failed) = call(&app, "support_failed_deliveries", &[]).await;
    assert_eq!(status, 200, "{failed}");
    let row = &failed[0];
    assert_eq!(row["endpointUrl"], url.as_str(), "{failed}");
    assert_eq!(row["attempts"], 5);
    assert_eq!(row["lastError"], "callback returned HTTP 500");

    rx.otherwise(200, "{}");
    let (status, _) = call(
        &app,
        "support_resend_delivery",
        &[("id", row["id"].as_str().unwrap())],
    )
    .await;
    assert_eq!(status, 200);
    shop.order_until(&order_id, |o| o["order"]["dispatchStatus"] == "dispatched")
        .await;
    let (_, failed) = call(&app, "support_failed_deliveries", &[]).await;
    assert_eq!(failed.as_array().unwrap().len(), 0);
}
