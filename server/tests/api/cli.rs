//! The `plugboard` binary's commands.
use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_create_prints_a_working_token() {
    let app = TestApp::sqlite().await;
    let out = app.cli(
        &["tokens", "create", "--email", "DEMO@plugboard.local"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let me: Value = app
        .bearer(Method::GET, "/v1/me", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["merchant_name"], "Warung Demo");

    let out = app.cli(&["tokens", "create", "--email", "nobody@example.com"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user with e-mail nobody@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_catalog_check_succeed() {
    let app = TestApp::sqlite().await;
    let out = app.cli(&["migrate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = app.cli(&["catalog", "check"], None);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("21 capabilities"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused_with_a_clear_message() {
    let app = TestApp::sqlite().await;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
    let out = cmd
        .args(["migrate"])
        .env("PLUGBOARD_DATA_DIR", app.data_dir.path())
        .env("PLUGBOARD_DATABASE_URL", "mysql://root:hunter2@localhost/x")
        .env("PLUGBOARD_LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database_url must start with"), "{err}");
    assert!(err.contains("log_format must be text or json"), "{err}");
    assert!(!err.contains("hunter2"), "passwords never printed: {err}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["migrate"])
        .env("PLUGBOARD_DATA_DIR", app.data_dir.path())
        .env("PLUGBOARD_ADDR", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("addr"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_reencrypts_secrets_and_the_running_server_keeps_reading_them() {
    let app = TestApp::sqlite().await;
    let token = app.merchant_token("Rotating").await;
    let loc: Value = app
        .bearer(Method::POST, "/v1/locations", &token)
        .json(&crate::helpers::location("Jakarta"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let inst: Value = app
        .bearer(Method::POST, "/v1/installs", &token)
        .json(&serde_json::json!({"integration": "qlub", "location_id": loc["id"], "config": {"api_key": "before-rotation", "restaurant_id": "r"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = inst["id"].as_str().unwrap().to_string();

    let out = app.cli(&["keys", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    // Every install holding secrets (this one, and the demo data's) is
    // sealed again.
    let sealed = app
        .count("SELECT COUNT(*) FROM installs WHERE secrets IS NOT NULL")
        .await;
    assert!(sealed >= 1);
    assert!(
        said.contains("new primary key k2") && said.contains(&format!("re-encrypted {sealed} ")),
        "{said}"
    );
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(app.data_dir.path().join("keys.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(file["primary"], "k2");
    assert!(file["keys"]["k1"].is_string(), "old key kept");

    // The running server reloaded the key file: it reads the re-sealed value
    // (a partial update must merge with the stored secret) and seals anew.
    let resp = app
        .bearer(Method::PATCH, &format!("/v1/installs/{id}"), &token)
        .json(&serde_json::json!({"config": {"restaurant_id": "r2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let out = app.cli(&["keys", "reseal"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("re-encrypted 0"),
        "already under k2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrelated_plugboard_variables_are_ignored_with_a_warning() {
    let app = TestApp::sqlite().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["migrate"])
        .env("PLUGBOARD_DATA_DIR", app.data_dir.path())
        .env("PLUGBOARD_TEST_POSTGRES_URL", "postgres://x@127.0.0.1/y")
        .env("PLUGBOARD_DATABSE_URL", "typo")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("ignoring PLUGBOARD_DATABSE_URL"), "{err}");
    assert!(!err.contains("PLUGBOARD_TEST_POSTGRES_URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_clients_are_read_from_nested_variables_and_checked() {
    let app = TestApp::sqlite().await;
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.args(["migrate"])
            .env("PLUGBOARD_DATA_DIR", app.data_dir.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // Read: a plain-http token URL off loopback is refused, naming the key;
    // the secret is never printed.
    let out = run(&[
        (
            "PLUGBOARD_OAUTH__GOOGLE_REVIEWS__CLIENT_ID",
            "plugboard-hub",
        ),
        (
            "PLUGBOARD_OAUTH__GOOGLE_REVIEWS__CLIENT_SECRET",
            "s3cr3t-client-secret",
        ),
        (
            "PLUGBOARD_OAUTH__GOOGLE_REVIEWS__TOKEN_URL",
            "http://auth.example.com/token",
        ),
        ("PLUGBOARD_OAUTH__XERO__CLIENT_ID", ""),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("oauth.google_reviews.token_url must be an https URL"),
        "{err}"
    );
    assert!(
        err.contains("oauth.xero.client_id must not be empty"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t-client-secret"), "{err}");
    assert!(!err.contains("ignoring PLUGBOARD_OAUTH"), "{err}");

    // Loopback http (a local provider) and https are accepted.
    let out = run(&[
        (
            "PLUGBOARD_OAUTH__GOOGLE_REVIEWS__CLIENT_ID",
            "plugboard-hub",
        ),
        (
            "PLUGBOARD_OAUTH__GOOGLE_REVIEWS__TOKEN_URL",
            "http://127.0.0.1:9/token",
        ),
        ("PLUGBOARD_OAUTH__XERO__CLIENT_ID", "xero-client"),
        (
            "PLUGBOARD_OAUTH__XERO__AUTHORIZE_URL",
            "https://login.xero.com/identity/connect/authorize",
        ),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
