//! The real OAuth 2.0 authorization server the OAuth tests run against:
//! end2end/oauth-server/server.mjs (panva's oidc-provider under Node.js),
//! one process per test, on a free loopback port.
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running authorization server; killed on drop.
pub struct AuthServer {
    pub base: String,
    child: Child,
}

fn end2end_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end")
}

impl AuthServer {
    /// Starts the server with `redirect_uri` registered for its clients, or
    /// answers `None` with the reason printed when Node.js or the npm
    /// packages are missing (`scripts/setup.sh` installs them).
    pub fn start(redirect_uri: &str) -> Option<Self> {
        let dir = end2end_dir();
        if !dir.join("node_modules/oidc-provider").is_dir() {
            eprintln!(
                "SKIP (oidc-provider not installed in end2end/node_modules; run scripts/setup.sh)"
            );
            return None;
        }
        let mut child = match Command::new("node")
            .arg(dir.join("oauth-server/server.mjs"))
            .env("OAUTH_PORT", "0")
            .env("OAUTH_REDIRECT_URIS", redirect_uri)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("SKIP (cannot run node: {e})");
                return None;
            }
        };
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("OAUTH_SERVER_READY ") {
                    let _ = tx.send(base.trim().to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the authorization server starts within 30 s");
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "loopback only: {base}"
        );
        Some(AuthServer { base, child })
    }

    /// Counters and the last tokens issued.
    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/test/stats", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Uses `refresh_token` directly at the token endpoint as `client`;
    /// answers the HTTP status and body.
    pub async fn try_refresh(&self, client: &str, refresh_token: &str) -> (u16, Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/token", self.base))
            .basic_auth(client, Some(format!("{client}-secret")))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// The server's config for an integration using `client`.
    pub fn client_config(&self, client: &str) -> server::config::OAuthClientConfig {
        server::config::OAuthClientConfig {
            client_id: client.into(),
            client_secret: Some(server::config::Redacted(format!("{client}-secret"))),
            authorize_url: Some(format!("{}/auth", self.base)),
            token_url: Some(format!("{}/token", self.base)),
            revocation_url: Some(format!("{}/token/revocation", self.base)),
            scopes: Some("openid".into()),
        }
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
