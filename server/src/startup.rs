//! Building the application: database, catalog, demo data, routes, and the
//! background upkeep; then serving until a shutdown signal.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::domain::inbound::blob::{BlobStore, LocalSegments, S3Objects};
use app::domain::inbound::processor::Pipeline;
use app::domain::scripts::sandbox::{Limits, Sandbox};
use app::domain::scripts::Transformers;
use app::domain::{accounts, catalog_file::CatalogFile, demo, AppState};
use app::{shell, App};
use axum::routing::get;
use axum::{middleware, Json, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::csrf::{self, TrustedOrigins};
use crate::db;
use crate::session_store::DbSessionStore;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Catalog(#[from] app::domain::catalog_file::CatalogFileError),
    #[error("cannot read catalog file {path}: {source}")]
    CatalogRead {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error("could not create the demo data: {0}")]
    Demo(app::error::AppError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the raw payload store at {path}: {source}")]
    Blobs {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A payload store setting does not work (wrong bucket, credentials,
    /// endpoint): named so the operator knows what to fix.
    #[error("{setting}: {message}")]
    BlobSetting {
        setting: &'static str,
        message: String,
    },
    #[error("the event stream cannot start: {0}")]
    Stream(String),
    #[error("the live board cannot start: {0}")]
    Live(String),
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
}

/// A built server, bound to its address, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
}

impl Application {
    /// Builds the app and binds `config.addr`.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(config.addr)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.addr,
                    source,
                })?;
        Self::with_listener(config, listener).await
    }

    /// Builds the app on an already bound listener (tests bind `127.0.0.1:0`).
    pub async fn with_listener(
        config: Config,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        let local_addr = listener.local_addr().map_err(StartupError::Serve)?;
        let keys = Arc::new(entity::crypto::SharedKeyRing::new(crate::keys::load(
            &config,
        )?));
        crate::keys::watch_file(&config, keys.clone());
        let database = db::connect(&config).await?;
        db::migrate(&database).await?;
        load_catalog(&config, &database.conn).await?;
        if config.demo_data && config.is_embedded() {
            let seeded = demo::seed_if_empty(&database.conn, &keys.current())
                .await
                .map_err(StartupError::Demo)?;
            if let Some(seeded) = seeded {
                print_demo(local_addr, &seeded);
            }
        }
        let role = config.role;
        let workers = role.runs_workers();
        if workers {
            spawn_upkeep(database.conn.clone(), database.sessions.clone());
        }
        let blobs = open_blobs(&config).await?;
        let inbound = inbound_state(&config, &database, keys.clone(), local_addr, blobs.clone())?;
        let writes = app::domain::group_commit::GroupCommit::start(
            database.conn.clone(),
            inbound.pipeline.gate.clone(),
        );
        let engine = crate::delivery::Engine {
            db: database.conn.clone(),
            keys: keys.clone(),
            client: crate::delivery::client::build(
                config.url_policy(),
                Duration::from_secs(config.delivery_timeout_secs),
            ),
            policy: config.url_policy(),
            timing: config.delivery_timing(),
            transformers: inbound.pipeline.transformers.clone(),
            wake: Arc::new(tokio::sync::Notify::new()),
            gate: inbound.pipeline.gate.clone(),
            writes: writes.clone(),
        };
        if workers {
            crate::delivery::spawn_workers(&engine);
        }
        let nats = match &config.nats_url {
            Some(url) => Some(
                crate::stream::nats::NatsHandle::connect(url)
                    .await
                    .map_err(StartupError::Stream)?,
            ),
            None => None,
        };
        if let (Some(nats), true) = (&nats, workers) {
            crate::stream::relay::spawn(
                database.conn.clone(),
                crate::stream::relay::NATS,
                Arc::new(crate::stream::nats::JetStream::new(nats)),
            );
        }
        let views = match &config.redis_url {
            Some(url) => Some(
                crate::views::RedisViews::connect(url)
                    .await
                    .map_err(StartupError::Live)?,
            ),
            None => None,
        };
        if let (Some(views), true) = (&views, workers) {
            crate::stream::relay::spawn(
                database.conn.clone(),
                crate::views::VIEWS,
                Arc::new(views.clone()),
            );
        }
        let probes = crate::api::health::Probes {
            db: database.conn.clone(),
            blobs,
            nats,
            redis: match &config.redis_url {
                Some(url) => Some(
                    redis::Client::open(url.0.as_str())
                        .map_err(|e| StartupError::Live(format!("redis_url: {e}")))?,
                ),
                None => None,
            },
            role: match role {
                crate::config::Role::All => "all",
                crate::config::Role::Api => "api",
                crate::config::Role::Worker => "worker",
            },
        };
        let (health, health_doc) = crate::api::health::router(probes);
        if !role.serves_http() {
            tracing::info!("role worker: background loops only; serving /healthz and /readyz");
            return Ok(Application {
                listener,
                router: health,
                local_addr,
            });
        }
        let outbound = app::domain::outbound::Outbound {
            policy: config.url_policy(),
            sender: Some(Arc::new(engine)),
            writes: Some(writes),
        };
        let live = crate::live::start(
            database.conn.clone(),
            config.redis_url.as_ref().map(|u| u.0.as_str()),
        )
        .await
        .map_err(StartupError::Live)?;
        let payments = Arc::new(config.payment_settings(&inbound.public_url));
        let fakes = config
            .is_development()
            .then(|| dev_fakes(&inbound.public_url));
        let (router, state) = router(
            &config,
            database,
            keys,
            local_addr,
            inbound.pipeline.clone(),
            outbound,
            (payments, live, health_doc),
        );
        let mut router = router
            .merge(health)
            .merge(crate::inbound::routes::routes(inbound))
            .layer(axum::Extension(crate::views::Views(views)));
        if let Some(fakes) = fakes {
            router = router.nest("/_fakes", fakes);
        }
        if workers {
            crate::oauth::spawn_refresher(
                state,
                Duration::from_secs(config.oauth_refresh_interval_secs),
            );
        }
        Ok(Application {
            listener,
            router,
            local_addr,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        tracing::info!(addr = %self.local_addr, "Plugboard is listening on http://{}", self.local_addr);
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartupError::Serve)
    }
}

/// The demo data's sign-ins and the demo POS secret, shown once on the
/// first start of the embedded default (printed, never logged).
fn print_demo(addr: SocketAddr, seeded: &demo::Seeded) {
    println!(
        "Demo data created. Sign in at http://{addr}/signin as {} with password {}",
        demo::DEMO_EMAIL,
        demo::DEMO_PASSWORD
    );
    println!(
        "Support console: sign in as {} with password {}",
        demo::SUPPORT_EMAIL,
        demo::SUPPORT_PASSWORD
    );
    println!(
        "Demo restaurant POS: account {}, store {} (mapped to Jakarta), signing secret {}",
        demo::DEMO_POS_ACCOUNT,
        demo::DEMO_POS_STORE,
        seeded.restopos_secret
    );
    println!("  Send it a menu: scripts/demo-webhook.sh <that secret>");
}

/// Builds and serves on `listener`: what the binary and the tests run.
pub async fn run(config: Config, listener: TcpListener) -> Result<(), StartupError> {
    Application::with_listener(config, listener)
        .await?
        .run_until_stopped()
        .await
}

async fn load_catalog(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
) -> Result<(), StartupError> {
    let text = match &config.catalog_file {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|source| StartupError::CatalogRead {
                path: path.display().to_string(),
                source,
            })?
        }
        None => app::domain::catalog_file::BUILTIN.to_string(),
    };
    let file = CatalogFile::parse(&text)?;
    file.store(db).await?;
    tracing::info!(
        version = file.catalog_version,
        integrations = file.integrations.len(),
        "catalog loaded"
    );
    Ok(())
}

/// The payload store: S3-compatible object storage when `blob_url` names
/// one (checked with a write before the server starts), else segment files
/// under `data_dir/blobs`.
pub(crate) async fn open_blobs(config: &Config) -> Result<Arc<dyn BlobStore>, StartupError> {
    let Some(settings) = config.blob_s3() else {
        let dir = config.data_dir.join("blobs");
        return Ok(Arc::new(
            LocalSegments::open(&dir, 64 * 1024 * 1024).map_err(|source| StartupError::Blobs {
                path: dir.display().to_string(),
                source,
            })?,
        ));
    };
    let where_ = settings
        .endpoint
        .clone()
        .unwrap_or_else(|| "AWS S3".to_string());
    let store = S3Objects::new(&settings).map_err(|e| StartupError::BlobSetting {
        setting: "blob_url",
        message: format!("cannot set up the S3 client: {e}"),
    })?;
    if let Err(e) = store.check().await {
        return Err(match e.kind() {
            std::io::ErrorKind::NotFound => StartupError::BlobSetting {
                setting: "blob_url",
                message: format!(
                    "bucket {:?} does not exist at {where_} ({e})",
                    settings.bucket
                ),
            },
            std::io::ErrorKind::PermissionDenied => StartupError::BlobSetting {
                setting: "blob_s3_access_key_id / blob_s3_secret_access_key",
                message: format!("refused by {where_} for bucket {:?} ({e})", settings.bucket),
            },
            _ => StartupError::BlobSetting {
                setting: "blob_s3_endpoint",
                message: format!("the payload store at {where_} cannot be written ({e})"),
            },
        });
    }
    tracing::info!(bucket = %settings.bucket, prefix = %settings.prefix, endpoint = %where_, "raw payloads go to S3");
    Ok(Arc::new(store))
}

/// The inbound gateway's state: the payload store, the acknowledgement
/// writer and the auth-failure counters.
fn inbound_state(
    config: &Config,
    database: &db::Database,
    keys: Arc<entity::crypto::SharedKeyRing>,
    addr: SocketAddr,
    blobs: Arc<dyn BlobStore>,
) -> Result<crate::inbound::Inbound, StartupError> {
    let failures = crate::inbound::failures::AuthFailures::default();
    failures.spawn_flusher(database.conn.clone(), Duration::from_secs(5));
    // SQLite has one writer: this process's writers queue at a gate
    // instead of sleeping in SQLite's busy handler.
    let gate = config
        .is_embedded()
        .then(|| Arc::new(app::domain::inbound::write_gate::WriteGate::default()));
    let sandbox = Sandbox::start(Limits {
        cpu: Duration::from_millis(config.script_cpu_ms.max(1)),
        memory_bytes: config.script_memory_mb.max(1) * 1024 * 1024,
        workers: config.script_workers.max(1),
    });
    let pipeline = Pipeline {
        blobs: blobs.clone(),
        transformers: Transformers::new(database.conn.clone(), sandbox),
        connections: Default::default(),
        gate: gate.clone(),
    };
    let workers = config.role.runs_workers();
    if workers {
        spawn_retention(
            database.conn.clone(),
            blobs.clone(),
            Duration::from_secs(config.inbound_retention_days.saturating_mul(86_400)),
            Duration::from_secs(config.inbound_purge_interval_secs.max(1)),
        );
    }
    let committed = Arc::new(tokio::sync::Notify::new());
    if config.inbound_processing && workers {
        crate::inbound::worker::spawn(database.conn.clone(), pipeline.clone(), committed.clone());
    }
    Ok(crate::inbound::Inbound {
        db: database.conn.clone(),
        keys,
        public_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string(),
        pipeline,
        ack: crate::inbound::ack::AckWriter::spawn(
            database.conn.clone(),
            blobs.clone(),
            gate,
            256,
            committed,
        ),
        failures,
    })
}

/// The payment provider fakes of the development configuration, holding
/// the demo merchant's credentials, with Xendit's callback pointed here.
fn dev_fakes(public_url: &str) -> Router {
    let midtrans = crate::fakes::midtrans::FakeMidtrans::new(demo::DEMO_MIDTRANS_SERVER_KEY);
    let xendit = crate::fakes::xendit::FakeXendit::new(demo::DEMO_XENDIT_SECRET_KEY);
    xendit.set_callback(
        &format!("{public_url}/v1/integrations/payments/xendit/notifications"),
        demo::DEMO_XENDIT_CALLBACK_TOKEN,
    );
    Router::new()
        .nest("/midtrans", midtrans.router())
        .nest("/xendit", xendit.router())
}

fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("plugboard")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

fn router(
    config: &Config,
    database: db::Database,
    keys: Arc<entity::crypto::SharedKeyRing>,
    addr: SocketAddr,
    pipeline: Pipeline,
    outbound: app::domain::outbound::Outbound,
    (payments, live, health_doc): (
        Arc<app::domain::payments::Settings>,
        app::domain::live::Live,
        utoipa::openapi::OpenApi,
    ),
) -> (Router, AppState) {
    let (api, mut openapi) = crate::api::router();
    openapi.merge(health_doc);
    let openapi_json = Arc::new(serde_json::to_value(&openapi).unwrap_or_default());
    let state = AppState {
        db: database.conn,
        leptos_options: leptos_options(config, addr),
        openapi: openapi_json.clone(),
        keys,
        oauth: Arc::new(config.oauth_settings(addr)),
        pipeline: Some(pipeline),
        outbound,
        payments,
        live,
    };

    let mut trusted: Vec<String> = config.allowed_origins.clone();
    if let Some(url) = &config.public_url {
        trusted.push(url.clone());
    }
    let trusted = TrustedOrigins(Arc::new(trusted));

    let sessions = SessionManagerLayer::new(database.sessions)
        .with_name("plugboard_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            config.session_idle_minutes,
        )));

    let routes = generate_route_list(App);
    let context_state = state.clone();
    // Server functions are registered by leptos_routes_with_context too, with
    // the same context.
    let pages: Router<AppState> = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .merge(crate::oauth::routes())
        .route(
            "/live/outlets/{outlet_id}",
            get(crate::live::sse::session_stream),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(trusted, csrf::guard))
        .layer(sessions);

    let openapi_route = get(move || {
        let doc = openapi_json.clone();
        async move { Json((*doc).clone()) }
    });
    let router = Router::new()
        .merge(api)
        .route("/v1/openapi.json", openapi_route)
        .route(
            "/transaction/payments",
            axum::routing::post(crate::api::payments::create),
        )
        .route(
            "/v1/{*rest}",
            axum::routing::any(crate::api::error::not_found),
        )
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(crate::api::error::not_found),
        )
        .merge(pages)
        .layer(TraceLayer::new_for_http())
        .with_state(state.clone());
    (router, state)
}

fn spawn_upkeep(db: sea_orm::DatabaseConnection, sessions: DbSessionStore) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = accounts::purge_old_attempts(&db).await {
                tracing::warn!(error = %e, "could not purge old sign-in attempts");
            }
            if let Err(e) = tower_sessions::ExpiredDeletion::delete_expired(&sessions).await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
        }
    });
}

/// Purges inbound data past the retention window, every `interval`.
fn spawn_retention(
    db: sea_orm::DatabaseConnection,
    blobs: Arc<dyn BlobStore>,
    retention: Duration,
    interval: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            match app::domain::inbound::retention::purge(&db, &blobs, retention).await {
                Ok(p) if p != Default::default() => {
                    tracing::info!(
                        events = p.events,
                        keys = p.keys,
                        segments = p.segments,
                        "inbound retention purge"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "inbound retention purge failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
