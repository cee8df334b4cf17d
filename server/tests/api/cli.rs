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
