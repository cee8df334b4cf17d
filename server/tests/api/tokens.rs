//! Merchant API tokens: bearer auth, revocation.
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{error_of, TestApp};
use crate::on_both_backends;

on_both_backends!(tokens_authenticate_until_revoked);

async fn tokens_authenticate_until_revoked(app: TestApp) {
    app.sign_up("Tokens Inc", "tokens@example.com").await;
    let created: Value = app
        .server_fn("create_token", &[("name", "inventory sync")])
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("pbk_"));
    let id = created["info"]["id"].as_str().unwrap().to_string();

    let me: Value = app
        .bearer(Method::GET, "/v1/me", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["merchant_name"], "Tokens Inc");

    // The list shows the prefix, never the token.
    let list: Value = app.server_fn("tokens", &[]).await.json().await.unwrap();
    let listed = list.to_string();
    assert!(!listed.contains(&token));
    assert!(listed.contains(&token[..10]));

    let resp = app.server_fn("revoke_token", &[("id", id.as_str())]).await;
    assert!(resp.status().is_success());
    let resp = app
        .bearer(Method::GET, "/v1/me", &token)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("www-authenticate"));
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_malformed_tokens_answer_401() {
    let app = TestApp::sqlite().await;
    let (status, _, _) = error_of(app.get("/v1/locations").await).await;
    assert_eq!(status, 401);
    for bad in [
        "pbk_short",
        "not-a-token",
        "pbk_0123456789012345678901234567890123456789",
    ] {
        let (status, code, _) = error_of(
            app.bearer(Method::GET, "/v1/locations", bad)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_accounts_cannot_use_merchant_pages() {
    let app = TestApp::sqlite().await;
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
    app.server_fn(
        "sign_in",
        &[
            ("email", "agent@plugboard.local"),
            ("password", "agent password 123"),
        ],
    )
    .await;
    let me: Value = app.server_fn("me", &[]).await.json().await.unwrap();
    assert_eq!(me["role"], "support");
    let body: Value = app
        .server_fn("create_token", &[("name", "x")])
        .await
        .json()
        .await
        .unwrap();
    assert!(body["Forbidden"].is_string(), "{body}");
}
