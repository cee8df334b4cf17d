//! platform_shared: JWTs signed with the platform secret, and rotation with
//! an overlap window.
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_of, Merchant, TestApp};

fn rotate(app: &TestApp, overlap: &str) -> (String, Vec<u8>) {
    let out = app.cli(
        &[
            "platform-secrets",
            "rotate",
            "--integration",
            "spliteasy",
            "--overlap-seconds",
            overlap,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .to_string()
    };
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(field("secret"))
        .unwrap();
    assert_eq!(secret.len(), 32);
    (field("key_id"), secret)
}

async fn platform_token(
    app: &TestApp,
    token: &str,
    install: &str,
    capability: &str,
) -> reqwest::Response {
    app.bearer(
        Method::POST,
        &format!("/v1/installs/{install}/platform-token"),
        token,
    )
    .json(&json!({"capability": capability}))
    .send()
    .await
    .unwrap()
}

/// Verifies like a partner would, with the secret it was given.
fn partner_verify(jwt: &str, secret: &[u8]) -> Result<Value, jsonwebtoken::errors::Error> {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&["spliteasy"]);
    v.set_issuer(&["plugboard"]);
    jsonwebtoken::decode::<Value>(jwt, &jsonwebtoken::DecodingKey::from_secret(secret), &v)
        .map(|d| d.claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_tokens_carry_merchant_location_and_capability_and_survive_rotation() {
    let app = TestApp::sqlite().await;
    let m = Merchant::new(&app, "Split Diner").await;
    let token = m.token.clone();
    let me: Value = m.call(Method::GET, "/v1/me").await.json().await.unwrap();
    let loc = m.location("Jakarta").await;
    let inst = m.installed("spliteasy", Some(&loc), json!({})).await;
    let id = inst["id"].as_str().unwrap();

    // No secret yet: a clear 409.
    let (status, _, body) = error_of(platform_token(&app, &token, id, "receipt_qr").await).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("platform-secrets rotate"));

    let (kid1, secret1) = rotate(&app, "300");
    let resp = platform_token(&app, &token, id, "receipt_qr").await;
    assert_eq!(resp.status(), 200);
    let jwt1 = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let header = jsonwebtoken::decode_header(&jwt1).unwrap();
    assert_eq!(header.kid.as_deref(), Some(kid1.as_str()));
    let claims = partner_verify(&jwt1, &secret1).expect("partner verifies with the shared secret");
    assert_eq!(claims["sub"], me["merchant_id"]);
    assert_eq!(claims["location_id"], loc);
    assert_eq!(claims["capability"], "receipt_qr");
    let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(ttl, 300, "short-lived");
    assert!(
        partner_verify(&jwt1, &[7u8; 32]).is_err(),
        "another secret does not verify"
    );

    // Rotation: new tokens use the new secret; old ones verify during the overlap only.
    let (kid2, secret2) = rotate(&app, "1");
    assert_ne!(kid1, kid2);
    let jwt2 = platform_token(&app, &token, id, "receipt_qr")
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(partner_verify(&jwt2, &secret2).is_ok());
    let database = server::db::connect(&app.config).await.unwrap();
    let keys = server::keys::load(&app.config).unwrap();
    let verify = |jwt: String| {
        let conn = database.conn.clone();
        let keys = keys.clone();
        async move { app::domain::platform_jwt::verify(&conn, &keys, "spliteasy", &jwt).await }
    };
    assert!(
        verify(jwt1.clone()).await.is_ok(),
        "old secret accepted during the overlap"
    );
    assert!(verify(jwt2.clone()).await.is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        verify(jwt1).await.is_err(),
        "old secret retired after the overlap"
    );
    assert_eq!(verify(jwt2).await.unwrap().capability, "receipt_qr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_tokens_refuse_wrong_capabilities_disabled_installs_and_other_auth_shapes() {
    let app = TestApp::sqlite().await;
    rotate(&app, "300");
    let m = Merchant::new(&app, "Careful").await;
    let token = m.token.clone();
    let loc = m.location("Bali").await;
    let id_of = |v: Value| v["id"].as_str().unwrap().to_string();
    let split = id_of(m.installed("spliteasy", Some(&loc), json!({})).await);
    let (status, code, _) =
        error_of(platform_token(&app, &token, &split, "pay_at_table").await).await;
    assert_eq!((status, code.as_str()), (400, "capability_unsupported"));

    m.call(Method::POST, &format!("/v1/installs/{split}/disable"))
        .await;
    let (status, code, _) =
        error_of(platform_token(&app, &token, &split, "receipt_qr").await).await;
    assert_eq!((status, code.as_str()), (409, "integration_disabled"));

    let qlub = id_of(
        m.installed(
            "qlub",
            Some(&loc),
            json!({"api_key": "qlub-key-0001", "restaurant_id": "r"}),
        )
        .await,
    );
    let (status, code, _) =
        error_of(platform_token(&app, &token, &qlub, "pay_at_table").await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));

    let out = app.cli(
        &["platform-secrets", "rotate", "--integration", "qlub"],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not use platform_shared"));
}
