//! Starting a real server per test, against SQLite or PostgreSQL.
use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::redirect::Policy;
use reqwest::Method;
use reqwest::{Client, Response};
use serde_json::{json, Value};
use server::Config;
use tempfile::TempDir;
use tokio::net::TcpListener;

/// Generates one test per backend from `async fn name(app: TestApp)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::TestApp::sqlite().await;
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            }
        )+
    };
}

/// Like [`on_both_backends`], plus a third run on PostgreSQL with raw
/// payloads in S3 (a real s3s-fs): the scale-out deployment.
#[macro_export]
macro_rules! on_every_engine {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::TestApp::sqlite().await;
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_s3() {
                    if let Some(app) = $crate::helpers::TestApp::postgres_s3(|_| {}).await {
                        super::$name(app).await;
                    }
                }
            }
        )+
    };
}

/// A running server and a cookie-keeping client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub data_dir: TempDir,
    pub config: Config,
    pg_db: Option<(String, String)>,
    /// The S3 server the payloads go to, when the test uses one.
    pub s3: Option<crate::engines::S3Server>,
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl TestApp {
    /// The embedded default (SQLite in a temporary data directory).
    pub async fn sqlite() -> Self {
        Self::sqlite_with(|_| {}).await
    }

    /// SQLite with a config tweak.
    pub async fn sqlite_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::sqlite_on(bind().await, tweak).await
    }

    /// SQLite on an already bound listener (when the address must be known
    /// before the server is configured).
    pub async fn sqlite_on(listener: TcpListener, tweak: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = base_config(data_dir.path().to_path_buf());
        tweak(&mut config);
        Self::start(config, data_dir, None, listener).await
    }

    /// A fresh PostgreSQL database, or `None` (with the reason printed) when
    /// PostgreSQL is unreachable.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_on(bind().await, |_| {}).await
    }

    /// PostgreSQL on an already bound listener, with a config tweak.
    pub async fn postgres_on(
        listener: TcpListener,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        let admin_url =
            std::env::var("PLUGBOARD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.into());
        let admin = match sqlx_pg_connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("SKIP (PostgreSQL unreachable at {admin_url}: {e})");
                return None;
            }
        };
        let name = format!("plugboard_test_{}", uuid::Uuid::new_v4().simple());
        use sqlx::Executor;
        let mut admin = admin;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("PLUGBOARD_TEST_POSTGRES_URL needs a database path"),
        };
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = base_config(data_dir.path().to_path_buf());
        config.database_url = Some(url);
        config.encryption_keys = Some(server::config::Redacted(server::keys::generate_entry("k1")));
        tweak(&mut config);
        Some(Self::start(config, data_dir, Some((admin_url, name)), listener).await)
    }

    /// PostgreSQL with raw payloads in a real S3 server of the test's own,
    /// or `None` (reason printed) when either is missing.
    pub async fn postgres_s3(tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let s3 = crate::engines::S3Server::start().await?;
        let mut app = Self::postgres_on(bind().await, |c| {
            s3.configure(c);
            tweak(c);
        })
        .await?;
        app.s3 = Some(s3);
        Some(app)
    }

    /// SQLite with raw payloads in a real S3 server, or `None`.
    pub async fn sqlite_s3(tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let s3 = crate::engines::S3Server::start().await?;
        let mut app = Self::sqlite_with(|c| {
            s3.configure(c);
            tweak(c);
        })
        .await;
        app.s3 = Some(s3);
        Some(app)
    }

    /// A server on a config the test made itself (its database, keys and
    /// payload store already set).
    pub async fn on_config(config: Config) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start(config, data_dir, None, bind().await).await
    }

    /// A second server process on the same database, key file and config,
    /// as a deployment with several processes has.
    pub async fn sibling(&self) -> TestApp {
        self.sibling_with(|_| {}).await
    }

    /// A sibling with a config tweak.
    pub async fn sibling_with(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = self.config.clone();
        tweak(&mut config);
        // Same database (the SQLite file lives in the first one's directory).
        config.database_url = Some(self.config.database_url());
        config.demo_data = false;
        Self::start(config, data_dir, None, bind().await).await
    }

    /// Runs a query answering one integer (a count) directly on the database.
    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Connection;
        if self.config.is_embedded() {
            let mut c = sqlx::SqliteConnection::connect(&self.config.database_url())
                .await
                .unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut c)
                .await
                .unwrap()
        } else {
            let mut c = sqlx::PgConnection::connect(self.config.database_url.as_deref().unwrap())
                .await
                .unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
    }

    /// Asserts `needle` appears in no file of the SQLite data directory, or
    /// no row of any PostgreSQL table.
    pub async fn assert_nowhere_in_database(&self, needle: &str) {
        if self.config.is_embedded() {
            let mut found = false;
            for entry in std::fs::read_dir(self.data_dir.path()).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    let bytes = std::fs::read(&path).unwrap();
                    found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
                }
            }
            assert!(!found, "plaintext secret found in the SQLite files");
        } else {
            use sqlx::Connection;
            let mut conn =
                sqlx::PgConnection::connect(self.config.database_url.as_deref().unwrap())
                    .await
                    .unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for (t,) in tables {
                let q =
                    format!("SELECT count(*) FROM \"{t}\" x WHERE x::text LIKE '%' || $1 || '%'");
                let (n,): (i64,) = sqlx::query_as(&q)
                    .bind(needle)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                assert_eq!(n, 0, "plaintext secret in table {t}");
            }
        }
    }

    async fn start_logging() {
        // PLUGBOARD_TEST_LOG=sqlx=debug,info shows the server's logs (and SQL).
        if let Ok(filter) = std::env::var("PLUGBOARD_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    }

    async fn start(
        config: Config,
        data_dir: TempDir,
        pg_db: Option<(String, String)>,
        listener: TcpListener,
    ) -> Self {
        Self::start_logging().await;
        let app = server::Application::with_listener(config.clone(), listener)
            .await
            .expect("server builds");
        let addr = app.local_addr();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            addr,
            client: new_client(),
            data_dir,
            config,
            pg_db,
            s3: None,
        }
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The origin browsers of this app send.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// GET with this app's client.
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Calls a server function the way a browser form does, from our origin.
    pub async fn server_fn(&self, name: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(&format!("/api/{name}")))
            .header("Origin", self.origin())
            .form(form)
            .send()
            .await
            .expect("server fn call")
    }

    /// Signs up a new merchant with this app's client (now signed in).
    pub async fn sign_up(&self, merchant: &str, email: &str) {
        let resp = self
            .server_fn(
                "sign_up",
                &[
                    ("merchant_name", merchant),
                    ("email", email),
                    ("password", "correct horse battery"),
                ],
            )
            .await;
        assert!(
            resp.status().is_success() || resp.status().is_redirection(),
            "sign up: {}",
            resp.status()
        );
    }

    /// Another browser: a new client, signed up as a new merchant.
    pub async fn other_browser(&self, merchant: &str) -> Client {
        let other = new_client();
        let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
        let resp = other
            .post(self.url("/api/sign_up"))
            .header("Origin", self.origin())
            .form(&[
                ("merchant_name", merchant),
                ("email", email.as_str()),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success() || resp.status().is_redirection());
        other
    }

    /// A second, cookie-less client against the same server, signed up as a
    /// new merchant, with an API token; answers the token.
    pub async fn merchant_token(&self, merchant: &str) -> String {
        self.merchant_session(merchant).await.1
    }

    /// [`Self::merchant_token`], with the signed-in browser as well.
    pub async fn merchant_session(&self, merchant: &str) -> (Client, String) {
        let other = self.other_browser(merchant).await;
        let resp = other
            .post(self.url("/api/create_token"))
            .header("Origin", self.origin())
            .form(&[("name", "tests")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        let token = body["token"].as_str().expect("token in answer").to_string();
        (other, token)
    }

    /// A request with a bearer token.
    pub fn bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// Runs the real binary with this app's database and data directory.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        use std::io::Write;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.args(args)
            .env("PLUGBOARD_DATA_DIR", self.data_dir.path())
            .env("PLUGBOARD_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(url) = &self.config.database_url {
            cmd.env("PLUGBOARD_DATABASE_URL", url);
        }
        if let Some(keys) = &self.config.encryption_keys {
            cmd.env("PLUGBOARD_ENCRYPTION_KEYS", &keys.0);
        }
        if let Some(url) = &self.config.nats_url {
            cmd.env("PLUGBOARD_NATS_URL", &url.0);
        }
        if let Some(url) = &self.config.redis_url {
            cmd.env("PLUGBOARD_REDIS_URL", &url.0);
        }
        let mut child = cmd.spawn().expect("run plugboard");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        child.wait_with_output().expect("plugboard output")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_db.take() {
            // Dropped on a separate runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async move {
                        if let Ok(mut c) = sqlx_pg_connect(&admin_url).await {
                            use sqlx::Executor;
                            let _ = c
                                .execute(
                                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                                )
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

async fn sqlx_pg_connect(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::PgConnection::connect(url),
    )
    .await
    .map_err(|_| sqlx::Error::PoolTimedOut)?
}

/// A listener on a free loopback port.
pub async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

pub(crate) fn base_config(data_dir: PathBuf) -> Config {
    Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        database_max_connections: 4,
        log: "warn".into(),
        // Test receivers listen on loopback, which production refuses.
        outbound_allowlist: vec!["127.0.0.0/8".into(), "::1".into()],
        ..Config::default()
    }
}

/// A cookie-keeping client that does not follow redirects.
pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// Reads an error envelope, asserting its shape.
pub async fn error_of(resp: Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("JSON error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_string();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error.message in {body}"
    );
    (status, code, body)
}

/// A location body.
pub fn location(name: &str) -> Value {
    json!({"name": name, "city": "Jakarta", "timezone": "Asia/Jakarta"})
}

/// A merchant with an API token, and shortcuts for its requests.
pub struct Merchant<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl<'a> Merchant<'a> {
    pub async fn new(app: &'a TestApp, name: &str) -> Self {
        Merchant {
            app,
            token: app.merchant_token(name).await,
        }
    }

    pub async fn location(&self, name: &str) -> String {
        let resp = self
            .app
            .bearer(Method::POST, "/v1/locations", &self.token)
            .json(&location(name))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn install(
        &self,
        integration: &str,
        location: Option<&str>,
        config: Value,
    ) -> reqwest::Response {
        let mut body = json!({"integration": integration, "config": config});
        if let Some(l) = location {
            body["location_id"] = json!(l);
        }
        self.app
            .bearer(Method::POST, "/v1/installs", &self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn installed(
        &self,
        integration: &str,
        location: Option<&str>,
        config: Value,
    ) -> Value {
        let resp = self.install(integration, location, config).await;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{integration}: {body}");
        body
    }

    pub async fn call(&self, method: Method, path: &str) -> reqwest::Response {
        self.app
            .bearer(method, path, &self.token)
            .send()
            .await
            .unwrap()
    }
}

/// A `plugboard serve` process of its own (the real binary), to be killed
/// without mercy.
pub struct Process {
    child: std::process::Child,
    pub url: String,
}

impl Process {
    /// Starts the binary on `data_dir` and `port` with `PLUGBOARD_*`
    /// settings in `envs`; waits until it answers.
    pub async fn start(data_dir: &std::path::Path, port: u16, envs: &[(&str, &str)]) -> Self {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.arg("serve")
            .env("PLUGBOARD_DATA_DIR", data_dir)
            .env("PLUGBOARD_ADDR", format!("127.0.0.1:{port}"))
            .env("PLUGBOARD_DEMO_DATA", "false")
            .env("PLUGBOARD_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start plugboard");
        let process = Process {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            let health = reqwest::get(format!("{}/healthz", process.url)).await;
            if health.is_ok_and(|r| r.status() == 200) {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("plugboard did not start");
    }

    /// A free loopback port.
    pub fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    /// Signs up a merchant and answers an API token for it.
    pub async fn merchant_token(&self, merchant: &str, email: &str) -> String {
        let browser = new_client();
        let resp = browser
            .post(format!("{}/api/sign_up", self.url))
            .header("Origin", &self.url)
            .form(&[
                ("merchant_name", merchant),
                ("email", email),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success() || resp.status().is_redirection());
        let token: Value = browser
            .post(format!("{}/api/create_token", self.url))
            .header("Origin", &self.url)
            .form(&[("name", "process")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["token"].as_str().unwrap().to_string()
    }

    /// SIGKILL: no graceful shutdown, nothing flushed on the way out.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
