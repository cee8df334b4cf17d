//! Configuration: defaults, then a TOML file, then `PLUGBOARD_*` environment
//! variables; checked once at start-up with messages that say what to fix.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Every setting of the server. README.md lists them with their variables.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listen address (`PLUGBOARD_ADDR`).
    pub addr: SocketAddr,
    /// Where the embedded database, key file and stored payloads live
    /// (`PLUGBOARD_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means a SQLite file in the data
    /// directory (`PLUGBOARD_DATABASE_URL`).
    pub database_url: Option<String>,
    /// Maximum database connections (`PLUGBOARD_DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// The compiled site (wasm, CSS, assets) cargo-leptos produced
    /// (`PLUGBOARD_SITE_ROOT`).
    pub site_root: PathBuf,
    /// The URL people reach Plugboard at, e.g. `https://hub.example.com`
    /// (`PLUGBOARD_PUBLIC_URL`). Decides Secure cookies and the trusted origin.
    pub public_url: Option<String>,
    /// Further origins allowed to post forms (`PLUGBOARD_ALLOWED_ORIGINS`,
    /// comma separated).
    pub allowed_origins: Vec<String>,
    /// Sign-in sessions end after this much inactivity
    /// (`PLUGBOARD_SESSION_IDLE_MINUTES`).
    pub session_idle_minutes: i64,
    /// Create the demo merchant on the first start of an empty database
    /// (`PLUGBOARD_DEMO_DATA`).
    pub demo_data: bool,
    /// Encryption keys for secrets at rest, `id=<base64 of 32 bytes>,…`, the
    /// first being primary (`PLUGBOARD_ENCRYPTION_KEYS`). Required with
    /// PostgreSQL; the embedded default uses `data_dir/keys.json`.
    pub encryption_keys: Option<Redacted>,
    /// A catalog file to load instead of the built-in one
    /// (`PLUGBOARD_CATALOG_FILE`).
    pub catalog_file: Option<PathBuf>,
    /// Log filter, e.g. `info` or `server=debug,info` (`PLUGBOARD_LOG`).
    pub log: String,
    /// `text` or `json` (`PLUGBOARD_LOG_FORMAT`).
    pub log_format: String,
    /// OAuth clients the operator registered, by integration slug
    /// (`[oauth.google-reviews]` in TOML;
    /// `PLUGBOARD_OAUTH__GOOGLE_REVIEWS__CLIENT_ID` and so on).
    pub oauth: BTreeMap<String, OAuthClientConfig>,
    /// How often each process looks for tokens to refresh
    /// (`PLUGBOARD_OAUTH_REFRESH_INTERVAL_SECS`).
    pub oauth_refresh_interval_secs: u64,
    /// Tokens expiring within this many seconds are refreshed
    /// (`PLUGBOARD_OAUTH_REFRESH_MARGIN_SECS`).
    pub oauth_refresh_margin_secs: i64,
    /// Process acknowledged inbound webhooks in this process
    /// (`PLUGBOARD_INBOUND_PROCESSING`); turn off on acknowledgement-only
    /// nodes.
    pub inbound_processing: bool,
    /// Inbound events, their raw bodies and idempotency keys are kept this
    /// many days (`PLUGBOARD_INBOUND_RETENTION_DAYS`); events still waiting
    /// to be processed are never purged.
    pub inbound_retention_days: u64,
    /// How often each process runs the purge (`PLUGBOARD_INBOUND_PURGE_INTERVAL_SECS`).
    pub inbound_purge_interval_secs: u64,
    /// CPU time one JS transformer call may use (`PLUGBOARD_SCRIPT_CPU_MS`).
    pub script_cpu_ms: u64,
    /// Heap of one JS runtime (`PLUGBOARD_SCRIPT_MEMORY_MB`).
    pub script_memory_mb: usize,
    /// Threads running JS transformers (`PLUGBOARD_SCRIPT_WORKERS`).
    pub script_workers: usize,
    /// Networks outbound requests may reach although they are private or
    /// internal, e.g. `10.1.0.0/16` (`PLUGBOARD_OUTBOUND_ALLOWLIST`, comma
    /// separated). Everything else internal is refused (SSRF).
    pub outbound_allowlist: Vec<String>,
    /// An outbound attempt without a complete answer after this long fails
    /// (`PLUGBOARD_DELIVERY_TIMEOUT_SECS`).
    pub delivery_timeout_secs: u64,
    /// Multiplies the retry schedule (1m / 5m / 15m / 60m); tests compress
    /// it, e.g. 0.001 (`PLUGBOARD_DELIVERY_CLOCK_SCALE`).
    pub delivery_clock_scale: f64,
    /// An endpoint whose deliveries have all failed for this long is
    /// disabled (`PLUGBOARD_ENDPOINT_DISABLE_AFTER_SECS`).
    pub endpoint_disable_after_secs: u64,
    /// `development` or `production` (`PLUGBOARD_ENVIRONMENT`). Development
    /// serves the payment provider fakes under `/_fakes/` and the payment
    /// simulator; production never does.
    pub environment: String,
    /// Redis, e.g. `redis://127.0.0.1:6379` (`PLUGBOARD_REDIS_URL`): the live
    /// board publishes through its pub/sub so every process's subscribers
    /// see every event. Unset: in-process only.
    pub redis_url: Option<Redacted>,
    /// Midtrans API base URL (`PLUGBOARD_MIDTRANS_BASE_URL`). Unset: the
    /// local fake in development; in production the sandbox or production
    /// API as each install's `environment` says.
    pub midtrans_base_url: Option<String>,
    /// Xendit API base URL (`PLUGBOARD_XENDIT_BASE_URL`). Unset: the local
    /// fake in development, `https://api.xendit.co` in production.
    pub xendit_base_url: Option<String>,
    /// A payment provider without an answer after this long is failed over
    /// (`PLUGBOARD_PAYMENT_TIMEOUT_MS`).
    pub payment_timeout_ms: u64,
    /// What this process runs (`PLUGBOARD_ROLE`, or `serve --role`): `all`
    /// (the default), `api` (HTTP only: pages, APIs, inbound
    /// acknowledgements) or `worker` (the background loops, with only
    /// `/healthz` and `/readyz` served).
    pub role: Role,
    /// Where raw inbound payloads go (`PLUGBOARD_BLOB_URL`): unset, the
    /// local folder `data_dir/blobs`; `s3://bucket/prefix`, S3-compatible
    /// object storage every replica shares.
    pub blob_url: Option<String>,
    /// The S3-compatible server, e.g. `http://127.0.0.1:9000`
    /// (`PLUGBOARD_BLOB_S3_ENDPOINT`); unset: AWS S3.
    pub blob_s3_endpoint: Option<String>,
    /// The bucket's region (`PLUGBOARD_BLOB_S3_REGION`).
    pub blob_s3_region: String,
    /// Access key id (`PLUGBOARD_BLOB_S3_ACCESS_KEY_ID`); unset: the
    /// standard `AWS_*` variables.
    pub blob_s3_access_key_id: Option<String>,
    /// Secret access key (`PLUGBOARD_BLOB_S3_SECRET_ACCESS_KEY`).
    pub blob_s3_secret_access_key: Option<Redacted>,
    /// One payload store request, retries included, gives up after this
    /// long and the sender is answered 503 (`PLUGBOARD_BLOB_TIMEOUT_MS`).
    pub blob_timeout_ms: u64,
    /// NATS with JetStream, e.g. `nats://127.0.0.1:4222`
    /// (`PLUGBOARD_NATS_URL`): the outbox is relayed to its streams.
    /// Unset: the outbox stays in the database only.
    pub nats_url: Option<Redacted>,
}

/// What one process runs.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// HTTP and every background loop.
    #[default]
    All,
    /// HTTP only.
    Api,
    /// Background loops only (plus health).
    Worker,
}

impl Role {
    /// Whether this process serves the web app and the APIs.
    pub fn serves_http(self) -> bool {
        self != Role::Worker
    }

    /// Whether this process runs the background loops.
    pub fn runs_workers(self) -> bool {
        self != Role::Api
    }
}

/// One OAuth client registered at a provider. The endpoints and scopes
/// default to the catalog's; set them to use a sandbox.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientConfig {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Redacted>,
    #[serde(default)]
    pub authorize_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub revocation_url: Option<String>,
    /// Space separated.
    #[serde(default)]
    pub scopes: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_max_connections: 8,
            site_root: PathBuf::from("target/site"),
            public_url: None,
            allowed_origins: Vec::new(),
            session_idle_minutes: 12 * 60,
            demo_data: true,
            encryption_keys: None,
            catalog_file: None,
            log: "info".into(),
            log_format: "text".into(),
            oauth: BTreeMap::new(),
            oauth_refresh_interval_secs: 30,
            oauth_refresh_margin_secs: 300,
            inbound_processing: true,
            inbound_retention_days: 30,
            inbound_purge_interval_secs: 3600,
            script_cpu_ms: 50,
            script_memory_mb: 32,
            script_workers: 2,
            outbound_allowlist: Vec::new(),
            delivery_timeout_secs: 10,
            delivery_clock_scale: 1.0,
            endpoint_disable_after_secs: 5 * 24 * 3600,
            environment: "development".into(),
            redis_url: None,
            midtrans_base_url: None,
            xendit_base_url: None,
            payment_timeout_ms: 10_000,
            role: Role::All,
            blob_url: None,
            blob_s3_endpoint: None,
            blob_s3_region: "us-east-1".into(),
            blob_s3_access_key_id: None,
            blob_s3_secret_access_key: None,
            blob_timeout_ms: 5_000,
            nats_url: None,
        }
    }
}

/// A setting that must never be printed; `Debug` shows `***`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::ops::Deref for Redacted {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read (wrong type, unknown key, bad file).
    #[error("configuration could not be read: {0}")]
    Read(#[from] Box<figment::Error>),
    /// Values were read but do not make sense together.
    #[error("configuration is invalid:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

impl Config {
    /// Where outbound requests may go.
    pub fn url_policy(&self) -> app::domain::outbound::url_policy::UrlPolicy {
        app::domain::outbound::url_policy::UrlPolicy::new(&self.outbound_allowlist)
            .unwrap_or_default()
    }

    /// The delivery engine's timing rules.
    pub fn delivery_timing(&self) -> app::domain::outbound::deliveries::Timing {
        app::domain::outbound::deliveries::Timing {
            clock_scale: self.delivery_clock_scale,
            disable_after: std::time::Duration::from_secs(self.endpoint_disable_after_secs),
        }
    }

    /// Loads defaults, then `file` (if given, it must exist; otherwise
    /// `plugboard.toml` in the working directory when present), then the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::Invalid(vec![format!(
                        "config file {} does not exist",
                        path.display()
                    )]));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new("plugboard.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("plugboard.toml"));
            }
            None => {}
        }
        // Only the settings' own variables: other PLUGBOARD_* variables (the
        // test suite's, say) are not settings and must not stop the server.
        let known = Config::keys();
        for (name, _) in std::env::vars() {
            if let Some(key) = name.strip_prefix("PLUGBOARD_") {
                let key = key.to_lowercase();
                let tooling = key == "config"
                    || key.starts_with("test_")
                    || key.starts_with("e2e_")
                    || key == "bin";
                if !tooling && !known.contains(&key) && !key.starts_with("oauth__") {
                    eprintln!(
                        "plugboard: ignoring {name}: not a setting (see README, Configuration)"
                    );
                }
            }
        }
        let env = Env::prefixed("PLUGBOARD_")
            .filter(move |k| {
                let k = k.as_str().to_ascii_lowercase();
                let k = k.as_str();
                (known.iter().any(|n| n == k)
                    && k != "allowed_origins"
                    && k != "outbound_allowlist"
                    && k != "oauth")
                    || k.starts_with("oauth__")
            })
            .split("__");
        let figment = figment.merge(env);
        let mut config: Config = figment.extract().map_err(Box::new)?;
        // A comma-separated list is the friendly form in an environment variable.
        if let Ok(origins) = std::env::var("PLUGBOARD_ALLOWED_ORIGINS") {
            config.allowed_origins = origins
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Ok(networks) = std::env::var("PLUGBOARD_OUTBOUND_ALLOWLIST") {
            config.outbound_allowlist = networks
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        config.validate()?;
        Ok(config)
    }

    /// Loads defaults, then `path` only: the environment's `PLUGBOARD_*`
    /// variables are not read (they configure this process, not the other
    /// install that `copy-install --to` names).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        if !path.is_file() {
            return Err(ConfigError::Invalid(vec![format!(
                "config file {} does not exist",
                path.display()
            )]));
        }
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file_exact(path))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// The names of every setting (the TOML keys; upper-cased, with the
    /// `PLUGBOARD_` prefix, the environment variables).
    pub fn keys() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                problems.push(format!(
                    "database_url must start with sqlite:, postgres:// or postgresql:// (got {:?})",
                    redact_url(url)
                ));
            }
        }
        if self.database_max_connections == 0 {
            problems.push("database_max_connections must be at least 1".into());
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
                problems.push(format!(
                    "public_url must be an http(s) origin without a trailing slash, e.g. https://hub.example.com (got {url:?})"
                ));
            }
        }
        for origin in &self.allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                problems.push(format!(
                    "allowed_origins entry {origin:?} must start with http:// or https://"
                ));
            }
        }
        if self.session_idle_minutes < 1 {
            problems.push("session_idle_minutes must be at least 1".into());
        }
        for (name, value, low, high) in [
            ("script_cpu_ms", self.script_cpu_ms, 1, 10_000),
            ("script_memory_mb", self.script_memory_mb as u64, 1, 4096),
            ("script_workers", self.script_workers as u64, 1, 64),
            (
                "inbound_retention_days",
                self.inbound_retention_days,
                0,
                36_500,
            ),
            (
                "inbound_purge_interval_secs",
                self.inbound_purge_interval_secs,
                1,
                86_400,
            ),
        ] {
            if !(low..=high).contains(&value) {
                problems.push(format!(
                    "{name} must be between {low} and {high} (got {value})"
                ));
            }
        }
        if let Err(bad) =
            app::domain::outbound::url_policy::UrlPolicy::new(&self.outbound_allowlist)
        {
            problems.push(format!(
                "outbound_allowlist entries must be addresses or CIDR networks (got {bad:?})"
            ));
        }
        if !(1..=300).contains(&self.delivery_timeout_secs) {
            problems.push(format!(
                "delivery_timeout_secs must be between 1 and 300 (got {})",
                self.delivery_timeout_secs
            ));
        }
        if !(self.delivery_clock_scale > 0.0 && self.delivery_clock_scale <= 1000.0) {
            problems.push(format!(
                "delivery_clock_scale must be above 0 and at most 1000 (got {})",
                self.delivery_clock_scale
            ));
        }
        if self.endpoint_disable_after_secs == 0 {
            problems.push("endpoint_disable_after_secs must be at least 1".into());
        }
        if self.environment != "development" && self.environment != "production" {
            problems.push(format!(
                "environment must be development or production (got {:?})",
                self.environment
            ));
        }
        if !(100..=120_000).contains(&self.payment_timeout_ms) {
            problems.push(format!(
                "payment_timeout_ms must be between 100 and 120000 (got {})",
                self.payment_timeout_ms
            ));
        }
        for (name, url) in [
            ("midtrans_base_url", &self.midtrans_base_url),
            ("xendit_base_url", &self.xendit_base_url),
        ] {
            if let Some(url) = url {
                if !app::domain::oauth::provider::secure_or_loopback(url) || url.ends_with('/') {
                    problems.push(format!(
                        "{name} must be an https URL (plain http only on loopback) without a trailing slash (got {url:?})"
                    ));
                }
            }
        }
        if let Some(url) = &self.redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                problems.push("redis_url must start with redis:// or rediss://".into());
            }
        }
        if let Some(url) = &self.nats_url {
            if !(url.starts_with("nats://")
                || url.starts_with("tls://")
                || url.starts_with("ws://"))
            {
                problems.push("nats_url must start with nats://, tls:// or ws://".into());
            }
        }
        if let Some(url) = &self.blob_url {
            if parse_blob_url(url).is_none() {
                problems.push(format!(
                    "blob_url must be s3://<bucket> or s3://<bucket>/<prefix> (got {url:?})"
                ));
            }
        }
        if let Some(endpoint) = &self.blob_s3_endpoint {
            let parsed = url::Url::parse(endpoint);
            if !parsed.is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()) {
                problems.push(format!(
                    "blob_s3_endpoint must be an http(s) URL such as http://127.0.0.1:9000 (got {endpoint:?})"
                ));
            }
        }
        if self.blob_s3_region.trim().is_empty() {
            problems.push("blob_s3_region must not be empty".into());
        }
        if self.blob_timeout_ms < 100 {
            problems.push(format!(
                "blob_timeout_ms must be at least 100 (got {})",
                self.blob_timeout_ms
            ));
        }
        if self.log_format != "text" && self.log_format != "json" {
            problems.push(format!(
                "log_format must be text or json (got {:?})",
                self.log_format
            ));
        }
        for (slug, client) in &self.oauth {
            if client.client_id.trim().is_empty() {
                problems.push(format!("oauth.{slug}.client_id must not be empty"));
            }
            let urls = [
                ("authorize_url", &client.authorize_url),
                ("token_url", &client.token_url),
                ("revocation_url", &client.revocation_url),
            ];
            for (name, url) in urls {
                if let Some(url) = url {
                    if !app::domain::oauth::provider::secure_or_loopback(url) {
                        problems.push(format!(
                            "oauth.{slug}.{name} must be an https URL (plain http only on loopback) (got {url:?})"
                        ));
                    }
                }
            }
        }
        if self.oauth_refresh_interval_secs == 0 {
            problems.push("oauth_refresh_interval_secs must be at least 1".into());
        }
        if self.oauth_refresh_margin_secs < 0 {
            problems.push("oauth_refresh_margin_secs must not be negative".into());
        }
        if let Some(path) = &self.catalog_file {
            if !path.is_file() {
                problems.push(format!("catalog_file {} does not exist", path.display()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// Whether this is the development configuration (fakes, simulator).
    pub fn is_development(&self) -> bool {
        self.environment == "development"
    }

    /// The payment providers' settings, `public_url` being where this
    /// server is reached.
    pub fn payment_settings(&self, public_url: &str) -> app::domain::payments::Settings {
        let fake = |p: &str| format!("{public_url}/_fakes/{p}");
        let dev = self.is_development();
        // Unset in production: the provider's own API (see
        // `PaymentProvider::default_base_url`).
        let pick = |set: &Option<String>, p: &str, prod: Option<&str>| match set {
            Some(url) => Some(url.clone()),
            None if dev => Some(fake(p)),
            None => prod.map(str::to_string),
        };
        let mut base_urls = Vec::new();
        if let Some(u) = pick(&self.midtrans_base_url, "midtrans", None) {
            base_urls.push(("midtrans".to_string(), u));
        }
        if let Some(u) = pick(&self.xendit_base_url, "xendit", None) {
            base_urls.push(("xendit".to_string(), u));
        }
        app::domain::payments::Settings {
            base_urls,
            public_url: public_url.to_string(),
            timeout: std::time::Duration::from_millis(self.payment_timeout_ms),
            simulator: dev,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// Whether the database is the embedded SQLite file.
    pub fn is_embedded(&self) -> bool {
        self.database_url
            .as_deref()
            .is_none_or(|u| u.starts_with("sqlite:"))
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("plugboard.db").display()
            ),
        }
    }

    /// The OAuth callback URL: `public_url` (or the listen address) +
    /// `/oauth/callback`. Register it, exactly, at every provider.
    pub fn oauth_redirect_uri(&self, local: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => format!("{url}/oauth/callback"),
            None => format!("http://{local}/oauth/callback"),
        }
    }

    /// The OAuth settings the domain uses.
    pub fn oauth_settings(&self, local: SocketAddr) -> app::domain::oauth::OAuthSettings {
        let clients = self
            .oauth
            .iter()
            .map(|(slug, c)| {
                (
                    slug.clone(),
                    app::domain::oauth::ClientSettings {
                        client_id: c.client_id.clone(),
                        client_secret: c.client_secret.as_ref().map(|s| s.0.clone()),
                        authorize_url: c.authorize_url.clone(),
                        token_url: c.token_url.clone(),
                        revocation_url: c.revocation_url.clone(),
                        scopes: c.scopes.clone(),
                    },
                )
            })
            .collect();
        app::domain::oauth::OAuthSettings::new(
            self.oauth_redirect_uri(local),
            clients,
            time::Duration::seconds(self.oauth_refresh_margin_secs),
        )
    }

    /// The S3 payload store's settings, when `blob_url` names one.
    pub fn blob_s3(&self) -> Option<app::domain::inbound::blob::S3Settings> {
        let (bucket, prefix) = parse_blob_url(self.blob_url.as_deref()?)?;
        Some(app::domain::inbound::blob::S3Settings {
            bucket,
            prefix,
            endpoint: self.blob_s3_endpoint.clone(),
            region: self.blob_s3_region.clone(),
            access_key_id: self.blob_s3_access_key_id.clone(),
            secret_access_key: self.blob_s3_secret_access_key.as_ref().map(|s| s.0.clone()),
            timeout: std::time::Duration::from_millis(self.blob_timeout_ms),
        })
    }

    /// Whether cookies get the Secure attribute.
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

/// `s3://bucket/prefix` as (bucket, prefix).
pub fn parse_blob_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    valid_bucket.then(|| (bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// A URL with any password replaced, safe to print.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let c = Config::default();
        c.validate().unwrap();
        assert!(c.is_embedded());
        assert!(c.database_url().starts_with("sqlite://data/plugboard.db"));
        assert!(!c.secure_cookies());
    }

    #[test]
    fn every_problem_is_reported() {
        let c = Config {
            database_url: Some("mysql://x".into()),
            database_max_connections: 0,
            public_url: Some("hub.example.com/".into()),
            log_format: "xml".into(),
            ..Config::default()
        };
        let ConfigError::Invalid(p) = c.validate().unwrap_err() else {
            panic!()
        };
        assert_eq!(p.len(), 4, "{p:?}");
    }

    #[test]
    fn blob_urls_name_a_bucket_and_a_prefix() {
        assert_eq!(
            parse_blob_url("s3://plugboard-payloads/prod/inbound/"),
            Some(("plugboard-payloads".into(), "prod/inbound".into()))
        );
        assert_eq!(
            parse_blob_url("s3://bucket"),
            Some(("bucket".into(), String::new()))
        );
        assert_eq!(parse_blob_url("s3://Bad_Bucket/x"), None);
        assert_eq!(parse_blob_url("file:///tmp"), None);
        let c = Config {
            blob_url: Some("s3:/nope".into()),
            blob_s3_endpoint: Some("127.0.0.1:9000".into()),
            nats_url: Some(Redacted("http://x".into())),
            blob_timeout_ms: 1,
            ..Config::default()
        };
        let Err(ConfigError::Invalid(problems)) = c.validate() else {
            panic!("bad payload store settings must be refused");
        };
        for name in [
            "blob_url",
            "blob_s3_endpoint",
            "nats_url",
            "blob_timeout_ms",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(name)),
                "{name}: {problems:?}"
            );
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://ana:s3cret@db:5432/pb"),
            "postgres://ana:***@db:5432/pb"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn https_public_url_means_secure_cookies() {
        let c = Config {
            public_url: Some("https://hub.example.com".into()),
            ..Config::default()
        };
        assert!(c.secure_cookies());
    }

    #[test]
    fn script_and_retention_limits_are_checked() {
        let c = Config {
            script_cpu_ms: 0,
            script_memory_mb: 100_000,
            inbound_retention_days: 1_000_000,
            ..Config::default()
        };
        let Err(ConfigError::Invalid(problems)) = c.validate() else {
            panic!("out-of-range limits must be refused");
        };
        for name in [
            "script_cpu_ms",
            "script_memory_mb",
            "inbound_retention_days",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(name)),
                "{name}: {problems:?}"
            );
        }
        assert!(Config::default().validate().is_ok());
    }
}
