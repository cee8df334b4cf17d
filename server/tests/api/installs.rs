//! The install lifecycle over `/v1/installs`: modes, caps, scopes, secrets,
//! races and tenant isolation.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, Merchant, TestApp};
use crate::on_both_backends;

on_both_backends!(
    an_install_goes_through_its_whole_lifecycle,
    a_second_replace_install_conflicts_until_the_first_is_uninstalled,
    add_mode_is_capped_per_location,
    an_all_locations_install_overlaps_every_location_even_new_ones,
    invalid_configs_name_every_field,
    secrets_are_never_returned_and_kept_when_not_resent,
    concurrent_installs_cannot_both_win,
    one_merchant_cannot_see_or_touch_another_merchants_installs,
    every_change_is_audited_without_secrets,
);

fn qlub() -> Value {
    json!({"api_key": "qlub-key-0001", "restaurant_id": "r1"})
}
fn sunday() -> Value {
    json!({"api_key": "sunday-key-01", "venue_id": "v1"})
}

async fn an_install_goes_through_its_whole_lifecycle(app: TestApp) {
    let m = Merchant::new(&app, "Lifecycle").await;
    let jakarta = m.location("Jakarta").await;
    let inst = m
        .installed("spliteasy", Some(&jakarta), json!({"qr_label": "Split it"}))
        .await;
    let id = inst["id"].as_str().unwrap();
    assert_eq!(inst["enabled"], true);
    assert_eq!(inst["config"]["qr_label"], "Split it");
    assert_eq!(inst["config"]["min_guests"], 2, "defaults filled in");
    assert_eq!(inst["auth_status"], "not_required");

    let off: Value = m
        .call(Method::POST, &format!("/v1/installs/{id}/disable"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(off["enabled"], false);
    assert_eq!(
        off["config"]["qr_label"], "Split it",
        "config kept while disabled"
    );
    let on: Value = m
        .call(Method::POST, &format!("/v1/installs/{id}/enable"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(on["enabled"], true);

    let resp = app
        .bearer(Method::PATCH, &format!("/v1/installs/{id}"), &m.token)
        .json(&json!({"config": {"qr_label": "Bagi tagihan", "min_guests": "3"}}))
        .send()
        .await
        .unwrap();
    let changed: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            changed["config"]["qr_label"].as_str(),
            changed["config"]["min_guests"].as_i64()
        ),
        (Some("Bagi tagihan"), Some(3))
    );

    assert_eq!(
        m.call(Method::DELETE, &format!("/v1/installs/{id}"))
            .await
            .status(),
        204
    );
    let (status, code, _) =
        error_of(m.call(Method::GET, &format!("/v1/installs/{id}")).await).await;
    assert_eq!((status, code.as_str()), (404, "integration_not_installed"));
    // A later install starts fresh.
    let again = m.installed("spliteasy", Some(&jakarta), json!({})).await;
    assert_ne!(again["id"], inst["id"]);
    assert_eq!(again["config"]["qr_label"], "Split the bill with SplitEasy");
}

async fn a_second_replace_install_conflicts_until_the_first_is_uninstalled(app: TestApp) {
    let m = Merchant::new(&app, "Replace").await;
    let jakarta = m.location("Jakarta").await;
    let bali = m.location("Bali").await;
    let q = m.installed("qlub", Some(&jakarta), qlub()).await;
    let qid = q["id"].as_str().unwrap();
    m.call(Method::POST, &format!("/v1/installs/{qid}/disable"))
        .await;

    let (status, code, body) = error_of(m.install("sunday", Some(&jakarta), sunday()).await).await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("Qlub") && msg.contains("pay_at_table") && msg.contains("Uninstall Qlub"),
        "{msg}"
    );

    // Another location is free; every-location overlaps both.
    m.installed("sunday", Some(&bali), sunday()).await;
    let (status, _, body) = error_of(m.install("qlub", None, qlub()).await).await;
    assert_eq!(status, 409, "{body}");

    assert_eq!(
        m.call(Method::DELETE, &format!("/v1/installs/{qid}"))
            .await
            .status(),
        204
    );
    m.installed("sunday", Some(&jakarta), sunday()).await;

    let surfaces: Value = m
        .call(Method::GET, &format!("/v1/locations/{jakarta}/surfaces"))
        .await
        .json()
        .await
        .unwrap();
    let pay = surfaces["surfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["capability"]["slug"] == "pay_at_table")
        .unwrap();
    assert_eq!(pay["holders"].as_array().unwrap().len(), 1);
    assert_eq!(pay["holders"][0]["integration"], "sunday");
}

async fn add_mode_is_capped_per_location(app: TestApp) {
    let m = Merchant::new(&app, "Receipts").await;
    let jakarta = m.location("Jakarta").await;
    let bali = m.location("Bali").await;
    m.installed("spliteasy", Some(&jakarta), json!({})).await;
    m.installed(
        "nps-pulse",
        Some(&jakarta),
        json!({"api_key": "nps-key-123", "survey_id": "s"}),
    )
    .await;
    m.installed(
        "tada",
        None,
        json!({"api_key": "tada-key-1", "api_secret": "tada-secret", "program_id": "p"}),
    )
    .await;
    let (status, _, body) = error_of(
        m.install("google-reviews", Some(&jakarta), json!({"place_id": "abc"}))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("at most 3")
            && msg.contains("NPS Pulse")
            && msg.contains("SplitEasy")
            && msg.contains("Tada"),
        "{msg}"
    );
    // Bali has only Tada (every location): two more fit there.
    m.installed("google-reviews", Some(&bali), json!({"place_id": "abc"}))
        .await;
    m.installed("spliteasy", Some(&bali), json!({})).await;
    let (status, _, _) = error_of(
        m.install(
            "nps-pulse",
            Some(&bali),
            json!({"api_key": "nps-key-123", "survey_id": "s"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);
}

async fn an_all_locations_install_overlaps_every_location_even_new_ones(app: TestApp) {
    let m = Merchant::new(&app, "Everywhere").await;
    let jakarta = m.location("Jakarta").await;
    m.installed("qlub", None, qlub()).await;
    // The same integration per location collides with the all-locations one.
    let (status, _, body) = error_of(m.install("qlub", Some(&jakarta), qlub()).await).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already installed for every location"));
    // Twice for every location is refused too.
    assert_eq!(error_of(m.install("qlub", None, qlub()).await).await.0, 409);
    // A location added later is covered at once.
    let surabaya = m.location("Surabaya").await;
    let (status, _, _) = error_of(m.install("sunday", Some(&surabaya), sunday()).await).await;
    assert_eq!(status, 409);
    let surfaces: Value = m
        .call(Method::GET, &format!("/v1/locations/{surabaya}/surfaces"))
        .await
        .json()
        .await
        .unwrap();
    let pay = surfaces["surfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["capability"]["slug"] == "pay_at_table")
        .unwrap();
    assert_eq!(pay["holders"][0]["integration"], "qlub");
    assert_eq!(pay["holders"][0]["every_location"], true);
    assert_eq!(
        surfaces["surfaces"].as_array().unwrap().len(),
        21,
        "every capability is listed"
    );
}

async fn invalid_configs_name_every_field(app: TestApp) {
    let m = Merchant::new(&app, "Invalid").await;
    let jakarta = m.location("Jakarta").await;
    let (status, code, body) = error_of(
        m.install(
            "qlub",
            Some(&jakarta),
            json!({"api_key": "short", "extra": 1}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "config_invalid"));
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["api_key", "restaurant_id", "extra"] {
        assert!(fields.contains(&f), "{f} missing in {body}");
    }
    assert!(
        !body.to_string().contains("\"short\""),
        "submitted secret echoed: {body}"
    );
    let (status, code, _) = error_of(m.install("no-such-thing", None, json!({})).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let (status, _, _) = error_of(
        m.install("kredivo", None, json!({"server_key": "12345678"}))
            .await,
    )
    .await;
    assert_eq!(status, 409, "coming soon cannot be installed");
    let resp = app
        .bearer(Method::POST, "/v1/installs", &m.token)
        .json(&json!({"integration": "qlub", "config": [1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "config_invalid");
}

async fn secrets_are_never_returned_and_kept_when_not_resent(app: TestApp) {
    let m = Merchant::new(&app, "Secrets").await;
    let jakarta = m.location("Jakarta").await;
    let secret = "sk_live_PLAINTEXT_CANARY_42";
    let resp = m
        .install(
            "qlub",
            Some(&jakarta),
            json!({"api_key": secret, "restaurant_id": "r-77"}),
        )
        .await;
    let text = resp.text().await.unwrap();
    assert!(!text.contains(secret), "{text}");
    let inst: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(inst["secrets_set"], json!(["api_key"]));
    assert!(inst["config"].get("api_key").is_none());
    let id = inst["id"].as_str().unwrap();

    // Changing only the plain field keeps the secret (no config_invalid).
    let resp = app
        .bearer(Method::PATCH, &format!("/v1/installs/{id}"), &m.token)
        .json(&json!({"config": {"restaurant_id": "r-78"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list = m
        .call(Method::GET, "/v1/installs")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("r-78") && !list.contains(secret));

    // The database holds no plaintext secret anywhere.
    app.assert_nowhere_in_database(secret).await;
}

async fn concurrent_installs_cannot_both_win(app: TestApp) {
    let m = Merchant::new(&app, "Racing").await;
    for round in 0..4 {
        let loc = m.location(&format!("Outlet {round}")).await;
        let (a, b) = tokio::join!(
            m.install("qlub", Some(&loc), qlub()),
            m.install("sunday", Some(&loc), sunday())
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "round {round}");
    }
    // Five receipt_qr installs at once for a cap of three.
    let loc = m.location("Cap race").await;
    let (a, b, c, d, e) = tokio::join!(
        m.install("spliteasy", Some(&loc), json!({})),
        m.install(
            "nps-pulse",
            Some(&loc),
            json!({"api_key": "nps-key-123", "survey_id": "s"})
        ),
        m.install(
            "tada",
            Some(&loc),
            json!({"api_key": "tada-key-1", "api_secret": "tada-secret", "program_id": "p"})
        ),
        m.install("google-reviews", Some(&loc), json!({"place_id": "abc"})),
        m.install("splitwise", Some(&loc), json!({})),
    );
    let won = [a, b, c, d, e].iter().filter(|r| r.status() == 201).count();
    assert_eq!(won, 3);
}

async fn one_merchant_cannot_see_or_touch_another_merchants_installs(app: TestApp) {
    let alice = Merchant::new(&app, "Alice").await;
    let bob = Merchant::new(&app, "Bob").await;
    let loc = alice.location("Alice HQ").await;
    let inst = alice.installed("qlub", Some(&loc), qlub()).await;
    let id = inst["id"].as_str().unwrap();
    let missing = uuid::Uuid::new_v4();

    let listed: Value = bob
        .call(Method::GET, "/v1/installs")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
    for path in [
        format!("/v1/installs/{id}"),
        format!("/v1/installs/{missing}"),
    ] {
        let (s1, c1, b1) = error_of(bob.call(Method::GET, &path).await).await;
        assert_eq!(
            (s1, c1.as_str(), b1["error"]["message"].as_str()),
            (
                404,
                "integration_not_installed",
                Some("No such install for this merchant.")
            )
        );
    }
    for (method, path) in [
        (Method::POST, format!("/v1/installs/{id}/disable")),
        (Method::DELETE, format!("/v1/installs/{id}")),
        (Method::GET, format!("/v1/locations/{loc}/surfaces")),
    ] {
        assert_eq!(error_of(bob.call(method, &path).await).await.0, 404);
    }
    let resp = app
        .bearer(Method::PATCH, &format!("/v1/installs/{id}"), &bob.token)
        .json(&json!({"config": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 404);
    // Bob cannot install into Alice's location, and Alice's slots do not bind Bob.
    assert_eq!(
        error_of(bob.install("sunday", Some(&loc), sunday()).await)
            .await
            .0,
        404
    );
    let bobs = bob.location("Bob HQ").await;
    bob.installed("sunday", Some(&bobs), sunday()).await;
    let still: Value = alice
        .call(Method::GET, &format!("/v1/installs/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["enabled"], true);
}

async fn every_change_is_audited_without_secrets(app: TestApp) {
    let m = Merchant::new(&app, "Audited").await;
    let loc = m.location("Audit HQ").await;
    let inst = m
        .installed(
            "qlub",
            Some(&loc),
            json!({"api_key": "AUDIT_CANARY_SECRET", "restaurant_id": "r"}),
        )
        .await;
    let id = inst["id"].as_str().unwrap();
    m.call(Method::POST, &format!("/v1/installs/{id}/disable"))
        .await;
    m.call(Method::POST, &format!("/v1/installs/{id}/enable"))
        .await;
    app.bearer(Method::PATCH, &format!("/v1/installs/{id}"), &m.token)
        .json(&json!({"config": {"api_key": "AUDIT_CANARY_SECRET_2"}}))
        .send()
        .await
        .unwrap();
    m.call(Method::DELETE, &format!("/v1/installs/{id}")).await;
    let text = m.call(Method::GET, "/v1/audit").await.text().await.unwrap();
    assert!(!text.contains("AUDIT_CANARY"), "{text}");
    let log: Value = serde_json::from_str(&text).unwrap();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "install.uninstalled",
            "install.configured",
            "install.enabled",
            "install.disabled",
            "install.created"
        ]
    );
    assert!(log[0]["actor"].as_str().unwrap().starts_with("token:"));
    assert_eq!(log[4]["after"]["secrets_set"], json!(["api_key"]));
}
