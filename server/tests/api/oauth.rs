//! OAuth installs against a real authorization server (oidc-provider):
//! Connect with PKCE, state bound to the session, refresh by request and by
//! the worker, one refresh at a time across processes, expired refresh →
//! needs reconnect → Reconnect, denied consent, Disconnect with revocation.
use reqwest::{Client, Method};
use serde_json::{json, Value};
use server::Config;

use crate::auth_server::AuthServer;
use crate::helpers::{bind, error_of, new_client, Merchant, TestApp};

/// Generates one test per backend from `async fn name(env: OAuthEnv)`, with
/// a config tweak.
macro_rules! oauth_tests {
    ($($name:ident => $tweak:expr),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    if let Some(env) = super::OAuthEnv::start(false, $tweak).await {
                        super::$name(env).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(env) = super::OAuthEnv::start(true, $tweak).await {
                        super::$name(env).await;
                    }
                }
            }
        )+
    };
}

oauth_tests!(
    connect_refresh_and_disconnect => |_| {},
    worker_refreshes_before_expiry => |c| {
        c.oauth_refresh_interval_secs = 1;
        c.oauth_refresh_margin_secs = 7200;
    },
    one_refresh_at_a_time_across_processes => |_| {},
    expired_refresh_needs_reconnect_then_reconnect => |_| {},
    state_is_one_time_and_bound_to_the_session => |_| {},
    denied_consent_is_shown_and_connects_nothing => |_| {},
    connect_needs_a_configured_client_and_the_owner => |_| {},
);

/// The app, the authorization server, and a signed-in merchant (session in
/// `app.client`, and an API token).
pub struct OAuthEnv {
    app: TestApp,
    auth: AuthServer,
    token: String,
}

impl OAuthEnv {
    async fn start(postgres: bool, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let listener = bind().await;
        let redirect = format!("http://{}/oauth/callback", listener.local_addr().unwrap());
        let auth = AuthServer::start(&redirect)?;
        let configure = |c: &mut Config| {
            c.oauth
                .insert("google-reviews".into(), auth.client_config("plugboard"));
            c.oauth
                .insert("splitwise".into(), auth.client_config("plugboard-short"));
            tweak(c);
        };
        let app = if postgres {
            TestApp::postgres_on(listener, configure).await?
        } else {
            TestApp::sqlite_on(listener, configure).await
        };
        app.sign_up(
            "Warung OAuth",
            &format!("{}@example.com", uuid::Uuid::new_v4().simple()),
        )
        .await;
        let resp = app
            .server_fn("create_token", &[("name", "oauth tests")])
            .await;
        assert_eq!(resp.status(), 200);
        let token = resp.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        Some(OAuthEnv { app, auth, token })
    }

    fn merchant(&self) -> Merchant<'_> {
        Merchant {
            app: &self.app,
            token: self.token.clone(),
        }
    }

    async fn install(&self, slug: &str) -> String {
        let config = if slug == "google-reviews" {
            json!({"place_id": "ChIJ-warung"})
        } else {
            json!({})
        };
        let body = self.merchant().installed(slug, None, config).await;
        assert_eq!(body["auth_status"], "not_connected", "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    async fn get(&self, install: &str) -> Value {
        let resp = self
            .merchant()
            .call(Method::GET, &format!("/v1/installs/{install}"))
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn post(&self, path: &str) -> reqwest::Response {
        self.merchant().call(Method::POST, path).await
    }

    /// Presses Connect as `client`: answers the provider URL it redirects to.
    async fn press_connect(&self, client: &Client, install: &str) -> String {
        let resp = client
            .post(self.app.url("/oauth/connect"))
            .header("Origin", self.app.origin())
            .form(&[("install_id", install)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "connect answers a redirect");
        location(&resp)
    }

    /// Plays the merchant at the provider: opens the consent page and
    /// presses Allow or Deny. Answers the callback URL the provider sends
    /// the browser to (not visited yet).
    async fn consent(&self, authorize_url: &str, allow: bool) -> String {
        let browser = new_client();
        let resp = browser.get(authorize_url).send().await.unwrap();
        assert_eq!(resp.status(), 303, "authorize → interaction");
        let interaction = self.absolute(&location(&resp));
        let page = browser.get(&interaction).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("asks for access"));
        let verb = if allow { "allow" } else { "deny" };
        let resp = browser
            .post(format!("{interaction}/{verb}"))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
        let resume = self.absolute(&location(&resp));
        let resp = browser.get(&resume).send().await.unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
        let callback = location(&resp);
        assert!(
            callback.starts_with(&self.app.url("/oauth/callback?")),
            "the provider redirects to the exact redirect URI: {callback}"
        );
        callback
    }

    /// Delivers the callback with `client`: answers where Plugboard sends
    /// the merchant.
    async fn deliver(&self, client: &Client, callback: &str) -> String {
        let resp = client.get(callback).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        location(&resp)
    }

    /// The whole Connect with Allow, in the merchant's own session.
    async fn connect(&self, install: &str) -> String {
        let authorize = self.press_connect(&self.app.client, install).await;
        let callback = self.consent(&authorize, true).await;
        self.deliver(&self.app.client, &callback).await
    }

    fn absolute(&self, loc: &str) -> String {
        if loc.starts_with("http") {
            loc.to_string()
        } else {
            format!("{}{loc}", self.auth.base)
        }
    }

    async fn audit_actions(&self) -> Vec<String> {
        let entries: Value = self
            .merchant()
            .call(Method::GET, "/v1/audit")
            .await
            .json()
            .await
            .unwrap();
        entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .expect("Location header")
        .to_str()
        .unwrap()
        .to_string()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn connect_refresh_and_disconnect(env: OAuthEnv) {
    let id = env.install("google-reviews").await;

    // Connect: authorization code with PKCE S256 and a state, to the exact
    // redirect URI.
    let authorize = env.press_connect(&env.app.client, &id).await;
    assert!(authorize.starts_with(&format!("{}/auth?", env.auth.base)));
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&authorize, "code_challenge").map(|c| c.len()),
        Some(43)
    );
    assert!(query_param(&authorize, "state").is_some_and(|s| s.len() >= 16));
    assert_eq!(
        query_param(&authorize, "redirect_uri").as_deref(),
        Some(env.app.url("/oauth/callback").as_str())
    );
    let callback = env.consent(&authorize, true).await;
    let landed = env.deliver(&env.app.client, &callback).await;
    assert_eq!(
        landed,
        format!("/integrations/google-reviews?oauth=connected&install={id}")
    );
    let page = env.app.get(&landed).await.text().await.unwrap();
    assert!(
        page.contains("Plugboard keeps the connection fresh"),
        "outcome shown"
    );

    let inst = env.get(&id).await;
    assert_eq!(inst["auth_status"], "connected", "{inst}");
    assert_eq!(inst["connection"]["refreshable"], true);
    assert!(inst["connection"]["expires_at"].is_string());
    assert_eq!(inst["connection"]["scopes"], "openid");
    let stats = env.auth.stats().await;
    assert_eq!(stats["authorization_code"], 1);
    let first_access = stats["last_access_token"].as_str().unwrap().to_string();
    let first_refresh = stats["last_refresh_token"].as_str().unwrap().to_string();
    // Tokens are sealed: nowhere in the database, nor in the API's answers.
    env.app.assert_nowhere_in_database(&first_access).await;
    env.app.assert_nowhere_in_database(&first_refresh).await;
    assert!(!inst.to_string().contains(&first_access));

    // Refresh now: the provider rotates the refresh token.
    let resp = env.post(&format!("/v1/installs/{id}/oauth/refresh")).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["outcome"], "refreshed", "{body}");
    assert!(body["install"]["connection"]["refreshed_at"].is_string());
    let stats = env.auth.stats().await;
    assert_eq!(stats["refresh_token"], 1);
    let second_access = stats["last_access_token"].as_str().unwrap().to_string();
    let second_refresh = stats["last_refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_access, first_access);
    env.app.assert_nowhere_in_database(&second_refresh).await;
    // A second refresh uses the rotated token (the old one would revoke the
    // grant at this provider).
    let body: Value = env
        .post(&format!("/v1/installs/{id}/oauth/refresh"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["outcome"], "refreshed", "{body}");
    let live_refresh = env.auth.stats().await["last_refresh_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Disconnect revokes at the provider: the refresh token is dead there.
    let resp = env
        .post(&format!("/v1/installs/{id}/oauth/disconnect"))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["revoked"], true, "{body}");
    assert_eq!(body["install"]["auth_status"], "not_connected");
    assert!(body["install"]["connection"].is_null());
    let (status, answer) = env.auth.try_refresh("plugboard", &live_refresh).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Refreshing a disconnected install is a clear client error.
    let resp = env.post(&format!("/v1/installs/{id}/oauth/refresh")).await;
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));

    let actions = env.audit_actions().await;
    for a in ["install.connected", "install.disconnected"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let audit = env
        .merchant()
        .call(Method::GET, "/v1/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(!audit.contains(&first_access) && !audit.contains(&live_refresh));
}

async fn worker_refreshes_before_expiry(env: OAuthEnv) {
    // Tokens live an hour; the margin (2 h) makes them due at once, and the
    // worker looks every second.
    let id = env.install("google-reviews").await;
    assert!(env.connect(&id).await.contains("oauth=connected"));
    let mut refreshed = Value::Null;
    for _ in 0..50 {
        let inst = env.get(&id).await;
        if inst["connection"]["refreshed_at"].is_string() {
            refreshed = inst;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        refreshed["auth_status"], "connected",
        "the worker refreshed: {refreshed}"
    );
    let stats = env.auth.stats().await;
    assert!(stats["refresh_token"].as_u64().unwrap() >= 1);
    assert_eq!(
        stats["refresh_errors"], 0,
        "no refresh token was used twice"
    );
}

async fn one_refresh_at_a_time_across_processes(env: OAuthEnv) {
    let id = env.install("google-reviews").await;
    assert!(env.connect(&id).await.contains("oauth=connected"));
    // A second process on the same database, as in a scaled deployment.
    let sibling = env.app.sibling().await;
    let path = format!("/v1/installs/{id}/oauth/refresh");
    let mut calls = Vec::new();
    for n in 0..8 {
        let app = if n % 2 == 0 { &env.app } else { &sibling };
        calls.push(app.bearer(Method::POST, &path, &env.token).send());
    }
    let answers = futures_join_all(calls).await;
    let mut refreshed = 0;
    for resp in answers {
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        match body["outcome"].as_str().unwrap() {
            "refreshed" => refreshed += 1,
            "skipped" => {}
            other => panic!("unexpected outcome {other}: {body}"),
        }
    }
    let stats = env.auth.stats().await;
    // Every provider-side refresh is one we stored, and no refresh token was
    // ever presented twice (this provider would have revoked the grant).
    assert!(refreshed >= 1);
    assert_eq!(stats["refresh_token"].as_u64().unwrap(), refreshed);
    assert_eq!(stats["refresh_errors"], 0);
    assert_eq!(env.get(&id).await["auth_status"], "connected");
    let body: Value = env.post(&path).await.json().await.unwrap();
    assert_eq!(body["outcome"], "refreshed", "still refreshable: {body}");
}

async fn futures_join_all(
    calls: Vec<
        impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<reqwest::Response> {
    let handles: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().unwrap());
    }
    out
}

async fn expired_refresh_needs_reconnect_then_reconnect(env: OAuthEnv) {
    // Splitwise uses the client whose refresh tokens live 3 seconds.
    let id = env.install("splitwise").await;
    assert!(env.connect(&id).await.contains("oauth=connected"));
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let body: Value = env
        .post(&format!("/v1/installs/{id}/oauth/refresh"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["outcome"], "needs_reconnect", "{body}");
    assert!(body["reason"].as_str().unwrap().contains("invalid_grant"));
    let inst = &body["install"];
    assert_eq!(inst["auth_status"], "needs_reconnect");
    assert!(inst["connection"]["last_error"]
        .as_str()
        .unwrap()
        .contains("invalid_grant"));
    assert!(env
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "install.needs_reconnect"));
    // The dashboard shows it, with a Reconnect button.
    let page = env
        .app
        .get("/integrations/splitwise")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("needs reconnect") && page.contains(">Reconnect<"),
        "{page}"
    );
    // Another refresh is refused clearly until the merchant reconnects.
    let (status, code, _) =
        error_of(env.post(&format!("/v1/installs/{id}/oauth/refresh")).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));

    // Reconnect: the same Connect flow; the install is connected again.
    assert!(env.connect(&id).await.contains("oauth=connected"));
    let inst = env.get(&id).await;
    assert_eq!(inst["auth_status"], "connected");
    assert!(inst["connection"]["last_error"].is_null());
    assert!(env
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "install.reconnected"));
}

async fn state_is_one_time_and_bound_to_the_session(env: OAuthEnv) {
    let id = env.install("google-reviews").await;
    let authorize = env.press_connect(&env.app.client, &id).await;
    let callback = env.consent(&authorize, true).await;
    let mismatch = "/integrations?oauth=state_mismatch";

    // Another browser (no session, or another merchant's) cannot use it.
    assert_eq!(env.deliver(&new_client(), &callback).await, mismatch);
    let other = env.app.other_browser("Other").await;
    assert_eq!(env.deliver(&other, &callback).await, mismatch);
    // A forged state in the merchant's own session is rejected too.
    let code = query_param(&callback, "code").unwrap();
    let forged = env
        .app
        .url(&format!("/oauth/callback?code={code}&state=forged-state"));
    assert_eq!(env.deliver(&env.app.client, &forged).await, mismatch);
    let page = env.app.get(mismatch).await.text().await.unwrap();
    assert!(
        page.contains("This sign-in response was rejected"),
        "shown clearly"
    );
    assert_eq!(env.get(&id).await["auth_status"], "not_connected");
    assert_eq!(
        env.auth.stats().await["authorization_code"],
        0,
        "no code was exchanged"
    );

    // The real callback in the right session works, once.
    assert!(env
        .deliver(&env.app.client, &callback)
        .await
        .contains("oauth=connected"));
    assert_eq!(
        env.deliver(&env.app.client, &callback).await,
        mismatch,
        "one-time"
    );
    assert_eq!(env.auth.stats().await["authorization_code"], 1);
}

async fn denied_consent_is_shown_and_connects_nothing(env: OAuthEnv) {
    let id = env.install("google-reviews").await;
    let authorize = env.press_connect(&env.app.client, &id).await;
    let callback = env.consent(&authorize, false).await;
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    let landed = env.deliver(&env.app.client, &callback).await;
    assert_eq!(
        landed,
        format!("/integrations/google-reviews?oauth=denied&install={id}")
    );
    let page = env.app.get(&landed).await.text().await.unwrap();
    assert!(
        page.contains("Access was declined"),
        "the outcome is explained"
    );
    assert!(page.contains(">Connect<"), "and Connect is offered again");
    assert_eq!(env.get(&id).await["auth_status"], "not_connected");
    assert_eq!(env.auth.stats().await["authorization_code"], 0);
}

async fn connect_needs_a_configured_client_and_the_owner(env: OAuthEnv) {
    // Mailchimp has no client in this server's configuration.
    let id = env.install_plain("mailchimp").await;
    let resp = env
        .app
        .client
        .post(env.app.url("/oauth/connect"))
        .header("Origin", env.app.origin())
        .form(&[("install_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        location(&resp),
        format!("/integrations/mailchimp?oauth=not_configured&install={id}")
    );

    // Another merchant can neither connect, refresh nor disconnect it, and
    // learns nothing about it.
    let google = env.install("google-reviews").await;
    let other = Merchant::new(&env.app, "Nosy").await;
    for path in ["oauth/refresh", "oauth/disconnect"] {
        let resp = other
            .call(Method::POST, &format!("/v1/installs/{google}/{path}"))
            .await;
        let (status, code, _) = error_of(resp).await;
        assert_eq!((status, code.as_str()), (404, "integration_not_installed"));
    }
    let nosy = env.app.other_browser("Nosy browser").await;
    let resp = nosy
        .post(env.app.url("/oauth/connect"))
        .header("Origin", env.app.origin())
        .form(&[("install_id", google.as_str())])
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (404, "integration_not_installed"));

    // Signed out: to the sign-in page. From another site: refused.
    let resp = new_client()
        .post(env.app.url("/oauth/connect"))
        .header("Origin", env.app.origin())
        .form(&[("install_id", google.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), location(&resp)),
        (303, "/signin".into())
    );
    let resp = env
        .app
        .client
        .post(env.app.url("/oauth/connect"))
        .header("Origin", "http://evil.example")
        .form(&[("install_id", google.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // A malformed id is a clear client error.
    let resp = env
        .app
        .client
        .post(env.app.url("/oauth/connect"))
        .header("Origin", env.app.origin())
        .form(&[("install_id", "not-a-uuid")])
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
}

impl OAuthEnv {
    async fn install_plain(&self, slug: &str) -> String {
        let config = match slug {
            "mailchimp" => json!({"audience_id": "a1b2c3"}),
            _ => json!({}),
        };
        let body = self.merchant().installed(slug, None, config).await;
        body["id"].as_str().unwrap().to_string()
    }
}
