//! Sign-up, sign-in, sessions, the guessing limit and CSRF.
use serde_json::Value;

use crate::helpers::{error_of, TestApp};
use crate::on_both_backends;

on_both_backends!(
    sign_up_signs_in_and_me_names_the_merchant,
    duplicate_emails_and_weak_passwords_are_refused,
    wrong_passwords_are_refused_and_then_rate_limited,
    sign_out_ends_the_session,
    demo_merchant_exists_on_the_embedded_default_only,
);

async fn me(app: &TestApp) -> Value {
    let resp = app.server_fn("me", &[]).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn sign_up_signs_in_and_me_names_the_merchant(app: TestApp) {
    assert_eq!(me(&app).await, Value::Null);
    app.sign_up("Bakmi Ayam", "Owner@Example.com").await;
    let me = me(&app).await;
    assert_eq!(me["email"], "owner@example.com");
    assert_eq!(me["merchant_name"], "Bakmi Ayam");
    assert_eq!(me["role"], "owner");
}

async fn duplicate_emails_and_weak_passwords_are_refused(app: TestApp) {
    app.sign_up("First", "taken@example.com").await;
    let resp = app
        .server_fn(
            "sign_up",
            &[
                ("merchant_name", "Second"),
                ("email", "TAKEN@example.com"),
                ("password", "another long password"),
            ],
        )
        .await;
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["Conflict"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{body}"
    );

    let resp = app
        .server_fn(
            "sign_up",
            &[
                ("merchant_name", "Third"),
                ("email", "third@example.com"),
                ("password", "short"),
            ],
        )
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["InvalidRequest"]["fields"][0]["field"], "password",
        "{body}"
    );

    let resp = app
        .server_fn(
            "sign_up",
            &[
                ("merchant_name", ""),
                ("email", "not-an-email"),
                ("password", "long enough password"),
            ],
        )
        .await;
    let body: Value = resp.json().await.unwrap();
    assert!(body["InvalidRequest"].is_object(), "{body}");
}

async fn wrong_passwords_are_refused_and_then_rate_limited(app: TestApp) {
    app.sign_up("Guarded", "guarded@example.com").await;
    app.server_fn("sign_out", &[]).await;
    for _ in 0..5 {
        let resp = app
            .server_fn(
                "sign_in",
                &[
                    ("email", "guarded@example.com"),
                    ("password", "wrong password"),
                ],
            )
            .await;
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["Unauthorized"], "The e-mail or password is incorrect.",
            "{body}"
        );
    }
    // Even the right password is refused while the limit holds.
    let resp = app
        .server_fn(
            "sign_in",
            &[
                ("email", "guarded@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["RateLimited"].as_str().unwrap().contains("Too many"),
        "{body}"
    );
    assert_eq!(me(&app).await, Value::Null);
}

async fn sign_out_ends_the_session(app: TestApp) {
    app.sign_up("Leaving", "leaving@example.com").await;
    assert_ne!(me(&app).await, Value::Null);
    let resp = app.server_fn("sign_out", &[]).await;
    assert!(resp.status().is_success() || resp.status().is_redirection());
    assert_eq!(me(&app).await, Value::Null);
    let resp = app
        .server_fn(
            "sign_in",
            &[
                ("email", "leaving@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert!(resp.status().is_success() || resp.status().is_redirection());
    assert_eq!(me(&app).await["email"], "leaving@example.com");
}

async fn demo_merchant_exists_on_the_embedded_default_only(app: TestApp) {
    let resp = app
        .server_fn(
            "sign_in",
            &[
                ("email", "demo@plugboard.local"),
                ("password", "plugboard-demo"),
            ],
        )
        .await;
    let body: Value = me(&app).await;
    if app.config.is_embedded() {
        assert!(resp.status().is_success() || resp.status().is_redirection());
        assert_eq!(body["merchant_name"], "Warung Demo");
        let locations: Value = app.server_fn("locations", &[]).await.json().await.unwrap();
        let names: Vec<&str> = locations
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["city"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{locations}");
    } else {
        assert_eq!(body, Value::Null, "no demo account on PostgreSQL");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_http_only_and_same_site() {
    let app = TestApp::sqlite().await;
    let resp = app
        .server_fn(
            "sign_up",
            &[
                ("merchant_name", "Cookie"),
                ("email", "cookie@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .expect("session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("plugboard_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http has no Secure: {cookie}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::sqlite_with(|c| {
        c.public_url = Some("https://hub.example.com".into());
    })
    .await;
    let resp = app
        .server_fn(
            "sign_up",
            &[
                ("merchant_name", "Tls"),
                ("email", "tls@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused() {
    let app = TestApp::sqlite().await;
    for origin in [Some("https://evil.example"), None] {
        let mut req = app.client.post(app.url("/api/sign_in")).form(&[
            ("email", "demo@plugboard.local"),
            ("password", "plugboard-demo"),
        ]);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let (status, code, _) = error_of(req.send().await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "csrf_rejected"),
            "origin {origin:?}"
        );
    }
    assert_eq!(
        app.server_fn("me", &[])
            .await
            .json::<Value>()
            .await
            .unwrap(),
        Value::Null
    );
}
