//! The command line: `serve`, `migrate`, `users`, `tokens`, `keys`,
//! `platform-secrets`, `catalog`, `scripts`, `events`, `views`,
//! `copy-install`, `bench`.
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use app::domain::{accounts, catalog_file::CatalogFile, tokens};
use app::model::Role;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::{db, startup, telemetry};

/// Plugboard: the integrations hub for point-of-sale merchants.
#[derive(Debug, Parser)]
#[command(name = "plugboard", version, about)]
pub struct Cli {
    /// A TOML config file (default: ./plugboard.toml when present).
    #[arg(long, global = true, env = "PLUGBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and the integration runtime.
    Serve {
        /// What this process runs: `all`, `api` (HTTP only) or `worker`
        /// (background loops only); overrides the `role` setting.
        #[arg(long, value_enum)]
        role: Option<crate::config::Role>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage people who sign in.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage merchant API tokens.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// Manage the encryption keys of secrets at rest.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the shared secrets of platform_shared integrations.
    PlatformSecrets {
        #[command(subcommand)]
        command: PlatformSecretsCommand,
    },
    /// Check or load the integrations catalog.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Deploy and list JS transformer scripts.
    Scripts {
        #[command(subcommand)]
        command: crate::scripts_cmd::ScriptsCommand,
    },
    /// Follow the event stream (NATS JetStream, `nats_url`).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Rebuild the Redis views (item availability, store status) from the
    /// database.
    Views {
        #[command(subcommand)]
        command: ViewsCommand,
    },
    /// Copy this install (every table and raw payload) into an empty one,
    /// e.g. the embedded default into PostgreSQL + S3 (docs/scaling.md).
    CopyInstall {
        /// The new install's config file (read alone: `PLUGBOARD_*`
        /// variables configure this, the source, install).
        #[arg(long)]
        to: PathBuf,
    },
    /// Measure Plugboard on this machine (loopback only, bounded).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// `plugboard bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signed webhooks against a fresh embedded server: acknowledged/s and
    /// p50/p99 acknowledgement latency, and the bare-handler ratio.
    Inbound {
        /// Seconds per phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent senders in the closed-loop phases.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Webhooks per second in the open-loop phase.
        #[arg(long, default_value_t = 2000)]
        rate: u64,
        /// Run the closed loops with `wrk` (a separate process) instead of
        /// the in-process sender.
        #[arg(long)]
        wrk: bool,
        /// Turn processing off in the server under test (an
        /// acknowledgement-only node).
        #[arg(long)]
        ack_only: bool,
        /// Run on PostgreSQL: a URL whose user may create databases (the run
        /// creates its own and drops it); default the embedded SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The delivery engine against a loopback receiver: dispatch API
    /// p50/p99, and deliveries/s sent by the workers.
    Deliveries {
        /// Seconds of the dispatch phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent callers of the dispatch API.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Deliveries queued for the throughput phase.
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// Run on PostgreSQL: a URL whose user may create databases (the run
        /// creates its own and drops it); default the embedded SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Ingest and delivery throughput of one and of two `plugboard serve`
    /// processes on one PostgreSQL database and one S3 server (s3s-fs).
    Replicas {
        /// Replica counts to measure in turn, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        replicas: Vec<usize>,
        /// Seconds of the ingest phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent senders, spread over the replicas.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Deliveries queued for the delivery phase.
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// A PostgreSQL URL whose user may create databases (one per run).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres_url: String,
        /// The s3s-fs binary (scripts/setup.sh --browser installs it).
        #[arg(long, default_value = ".tools/s3s/bin/s3s-fs")]
        s3s_fs: PathBuf,
    },
    /// JS transformer calls through the sandbox: calls/s and per-call
    /// latency with the shipped Square script.
    Scripts {
        /// Seconds per phase.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent callers in the throughput phase.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Sandbox threads.
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
}

/// `plugboard views …`
#[derive(Debug, Subcommand)]
pub enum ViewsCommand {
    /// Rewrite every location's views in Redis from the database.
    Rebuild,
}

/// `plugboard events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print the messages of one topic as JSON lines, e.g.
    /// `plugboard events tail --topic catalog.commands`.
    Tail {
        /// An outbox topic: `catalog.commands`, `catalog.events`,
        /// `pricing.events`, `inventory.events`, `store-status.events`,
        /// `integration.failures`, `orders.events`, `payments.events`, …
        #[arg(long)]
        topic: String,
        /// Only this merchant's messages.
        #[arg(long)]
        merchant: Option<uuid::Uuid>,
        /// From the oldest message the stream keeps (default: new ones only).
        #[arg(long)]
        from_start: bool,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this many seconds without a message.
        #[arg(long)]
        idle_secs: Option<u64>,
    },
}

/// `plugboard users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user (support agents are created only this way).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value = "support")]
        role: RoleArg,
        /// Read the password from standard input instead of prompting or
        /// generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Cross-merchant support agent.
    Support,
}

/// `plugboard tokens …`
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an API token for the merchant of a user and print it.
    Create {
        /// E-mail of a merchant user.
        #[arg(long)]
        email: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// `plugboard keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new primary key to the embedded key file and re-encrypt every
    /// stored secret with it (old keys stay, so nothing becomes unreadable).
    Rotate,
    /// Re-encrypt every stored secret with the current primary key (after
    /// putting a new key first in `encryption_keys`).
    Reseal,
    /// Print this install's keys as an `encryption_keys` value (for moving
    /// to PostgreSQL, where every process reads them from that setting).
    Export,
    /// Print a new random key as an `encryption_keys` entry.
    Generate {
        /// The key id.
        #[arg(long, default_value = "k1")]
        id: String,
    },
}

/// `plugboard platform-secrets …`
#[derive(Debug, Subcommand)]
pub enum PlatformSecretsCommand {
    /// Create a new signing secret for an integration and print it once, to
    /// share with the partner out of band. The previous secret stays valid
    /// for the overlap.
    Rotate {
        /// Integration slug, e.g. `spliteasy`.
        #[arg(long)]
        integration: String,
        /// Seconds during which old and new secrets are both accepted.
        #[arg(long, default_value_t = 300)]
        overlap_seconds: i64,
    },
}

/// `plugboard catalog …`
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Check a catalog file without touching the database.
    Check {
        /// The file (default: the built-in catalog).
        file: Option<PathBuf>,
    },
    /// Load a catalog file into the database.
    Load {
        /// The file (default: the configured or built-in catalog).
        file: Option<PathBuf>,
    },
}

/// A CLI failure: printed, exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Startup(#[from] startup::StartupError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Catalog(#[from] app::domain::catalog_file::CatalogFileError),
    #[error("{0}")]
    App(#[from] app::error::AppError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error("copy-install: {0}")]
    Copy(#[from] crate::copy_install::CopyError),
    #[error("{0}")]
    Usage(String),
}

impl Cli {
    /// Runs the command and turns the outcome into an exit code.
    pub async fn run(self) -> ExitCode {
        match self.execute().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("plugboard: {e}");
                ExitCode::FAILURE
            }
        }
    }

    async fn execute(self) -> Result<(), CliError> {
        let config = Config::load(self.config.as_deref())?;
        telemetry::init(&config.log, &config.log_format);
        match self.command {
            Command::Serve { role } => {
                let mut config = config;
                if let Some(role) = role {
                    config.role = role;
                }
                let app = startup::Application::build(config).await?;
                app.run_until_stopped().await?;
                Ok(())
            }
            Command::Migrate => {
                let database = db::connect(&config).await?;
                db::migrate(&database).await?;
                println!("database is up to date");
                Ok(())
            }
            Command::CopyInstall { to } => copy_install(&config, &to).await,
            Command::Users { command } => users(config, command).await,
            Command::Tokens { command } => tokens_cmd(config, command).await,
            Command::Catalog { command } => catalog(config, command).await,
            Command::Keys { command } => keys_cmd(config, command).await,
            Command::PlatformSecrets { command } => platform_secrets(config, command).await,
            Command::Scripts { command } => crate::scripts_cmd::run(config, command).await,
            Command::Views {
                command: ViewsCommand::Rebuild,
            } => {
                let Some(url) = config.redis_url.clone() else {
                    return Err(CliError::Usage(
                        "views rebuild needs redis_url (PLUGBOARD_REDIS_URL)".into(),
                    ));
                };
                let database = db::connect(&config).await?;
                db::migrate(&database).await?;
                let views = crate::views::RedisViews::connect(&url)
                    .await
                    .map_err(CliError::Usage)?;
                let n = views
                    .rebuild(&database.conn)
                    .await
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                println!("rebuilt the views of {n} locations");
                Ok(())
            }
            Command::Events {
                command:
                    EventsCommand::Tail {
                        topic,
                        merchant,
                        from_start,
                        count,
                        idle_secs,
                    },
            } => {
                let Some(url) = config.nats_url.clone() else {
                    return Err(CliError::Usage(
                        "events tail needs nats_url (PLUGBOARD_NATS_URL)".into(),
                    ));
                };
                let tail = crate::stream::tail::Tail {
                    topic,
                    merchant,
                    from_start,
                    count,
                    idle: idle_secs.map(std::time::Duration::from_secs),
                };
                crate::stream::tail::run(&url, tail, &mut std::io::stdout())
                    .await
                    .map(|_| ())
                    .map_err(|e| CliError::Usage(e.to_string()))
            }
            Command::Bench {
                command:
                    BenchCommand::Inbound {
                        seconds,
                        concurrency,
                        rate,
                        wrk,
                        ack_only,
                        database_url,
                    },
            } => crate::bench::inbound(crate::bench::InboundBench {
                seconds: seconds.min(120),
                concurrency: concurrency.clamp(1, 1024),
                rate: rate.clamp(1, 50_000),
                wrk,
                ack_only,
                database_url,
            })
            .await
            .map_err(|e| CliError::Usage(e.to_string())),
            Command::Bench {
                command:
                    BenchCommand::Deliveries {
                        seconds,
                        concurrency,
                        count,
                        database_url,
                    },
            } => crate::bench_deliveries::run(
                seconds.min(120),
                concurrency.clamp(1, 512),
                count.clamp(1, 200_000),
                database_url,
            )
            .await
            .map_err(|e| CliError::Usage(e.to_string())),
            Command::Bench {
                command:
                    BenchCommand::Replicas {
                        replicas,
                        seconds,
                        concurrency,
                        count,
                        postgres_url,
                        s3s_fs,
                    },
            } => crate::bench_replicas::run(crate::bench_replicas::ReplicasBench {
                replicas: replicas.into_iter().map(|n| n.clamp(1, 8)).collect(),
                seconds: seconds.clamp(1, 120),
                concurrency: concurrency.clamp(1, 512),
                count: count.clamp(1, 200_000),
                postgres_url,
                s3s_fs,
            })
            .await
            .map_err(|e| CliError::Usage(e.to_string())),
            Command::Bench {
                command:
                    BenchCommand::Scripts {
                        seconds,
                        concurrency,
                        workers,
                    },
            } => {
                crate::bench_scripts::run(seconds, concurrency.clamp(1, 256), workers.clamp(1, 16))
                    .await
                    .map_err(|e| CliError::Usage(e.to_string()))
            }
        }
    }
}

pub(crate) async fn open(config: &Config) -> Result<db::Database, CliError> {
    let database = db::connect(config).await?;
    db::migrate(&database).await?;
    Ok(database)
}

fn read_password(from_stdin: bool) -> Result<(String, bool), CliError> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            CliError::Usage(format!("cannot read the password from standard input: {e}"))
        })?;
        return Ok((s.trim_end_matches(['\r', '\n']).to_string(), false));
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Password for the new user: ")
            .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
        return Ok((p, false));
    }
    Ok((random_password(), true))
}

fn random_password() -> String {
    use rand::{distributions::Alphanumeric, Rng};
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

async fn users(config: Config, command: UsersCommand) -> Result<(), CliError> {
    match command {
        UsersCommand::Create {
            email,
            role: RoleArg::Support,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let database = open(&config).await?;
            let user = accounts::create_user(
                &database.conn,
                &email,
                password.clone(),
                Role::Support,
                None,
            )
            .await?;
            println!("created support user {} ({})", user.email, user.id);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
    }
}

async fn tokens_cmd(config: Config, command: TokensCommand) -> Result<(), CliError> {
    match command {
        TokensCommand::Create { email, name } => {
            let database = open(&config).await?;
            let user = entity::user::Entity::find_by_email(&database.conn, &email)
                .await
                .map_err(app::error::AppError::from)?
                .ok_or_else(|| CliError::Usage(format!("no user with e-mail {email}")))?;
            let merchant = user.merchant_id.ok_or_else(|| {
                CliError::Usage(format!(
                    "{email} is a support account; tokens belong to merchants"
                ))
            })?;
            let created = tokens::create(&database.conn, merchant, Some(user.id), &name).await?;
            // The token alone on stdout, so scripts can capture it.
            println!("{}", created.token);
            Ok(())
        }
    }
}

async fn copy_install(source: &Config, to: &std::path::Path) -> Result<(), CliError> {
    let target = Config::from_file(to)?;
    let report = crate::copy_install::run(source, &target).await?;
    let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
    for (table, n) in &report.tables {
        println!("{table:<28} {n:>10} rows");
    }
    println!(
        "copied {rows} rows in {} tables and {} payloads ({} bytes, {} → {}) into {}",
        report.tables.len(),
        report.payloads,
        report.payload_bytes,
        report.source_blobs,
        report.target_blobs,
        crate::config::redact_url(&target.database_url()),
    );
    if report.payloads_missing > 0 {
        println!(
            "{} events had no payload left in the source (purged by retention); their rows were copied",
            report.payloads_missing
        );
    }
    println!("sign-in sessions were not copied: people sign in again on the new install");
    Ok(())
}

async fn keys_cmd(config: Config, command: KeysCommand) -> Result<(), CliError> {
    match command {
        KeysCommand::Export => {
            println!("{}", crate::keys::to_list(&crate::keys::load(&config)?));
            Ok(())
        }
        KeysCommand::Generate { id } => {
            println!("{}", crate::keys::generate_entry(&id));
            Ok(())
        }
        KeysCommand::Rotate => {
            let ring = crate::keys::rotate_file(&config)?;
            // Running servers reload the key file every 2 s; let them learn the
            // new key before values sealed with it appear.
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            let database = open(&config).await?;
            let n = app::domain::installs::reseal_all(&database.conn, &ring).await?
                + app::domain::oauth::tokens::reseal_all(&database.conn, &ring).await?
                + app::domain::partner_webhooks::reseal_all(&database.conn, &ring).await?;
            println!(
                "new primary key {} written to {}; re-encrypted {n} stored secret value(s)",
                ring.primary_id(),
                crate::keys::key_file(&config).display()
            );
            Ok(())
        }
        KeysCommand::Reseal => {
            let ring = crate::keys::load(&config)?;
            let database = open(&config).await?;
            let n = app::domain::installs::reseal_all(&database.conn, &ring).await?
                + app::domain::oauth::tokens::reseal_all(&database.conn, &ring).await?
                + app::domain::partner_webhooks::reseal_all(&database.conn, &ring).await?;
            println!(
                "re-encrypted {n} stored secret value(s) with key {}",
                ring.primary_id()
            );
            Ok(())
        }
    }
}

async fn platform_secrets(config: Config, command: PlatformSecretsCommand) -> Result<(), CliError> {
    match command {
        PlatformSecretsCommand::Rotate {
            integration,
            overlap_seconds,
        } => {
            if overlap_seconds < 0 {
                return Err(CliError::Usage(
                    "--overlap-seconds cannot be negative".into(),
                ));
            }
            let keys = crate::keys::load(&config)?;
            let database = open(&config).await?;
            let new = app::domain::platform_jwt::rotate(
                &database.conn,
                &keys,
                app::domain::audit::Actor::Cli,
                &integration,
                time::Duration::seconds(overlap_seconds),
            )
            .await?;
            println!("key_id: {}", new.key_id);
            println!("secret: {}", new.secret);
            eprintln!(
                "Share the secret with the partner out of band (never by plain e-mail). \
                 The previous secret stays valid for {overlap_seconds} s."
            );
            Ok(())
        }
    }
}

async fn catalog(config: Config, command: CatalogCommand) -> Result<(), CliError> {
    let read = |file: Option<PathBuf>| -> Result<(String, String), CliError> {
        match file.or(config.catalog_file.clone()) {
            Some(path) => std::fs::read_to_string(&path)
                .map(|t| (t, path.display().to_string()))
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display()))),
            None => Ok((
                app::domain::catalog_file::BUILTIN.to_string(),
                "built-in catalog".into(),
            )),
        }
    };
    match command {
        CatalogCommand::Check { file } => {
            let (text, name) = read(file)?;
            let parsed = CatalogFile::parse(&text)?;
            println!(
                "{name}: version {}, {} categories, {} capabilities, {} integrations — OK",
                parsed.catalog_version,
                parsed.categories.len(),
                parsed.capabilities.len(),
                parsed.integrations.len()
            );
            Ok(())
        }
        CatalogCommand::Load { file } => {
            let (text, name) = read(file)?;
            let parsed = CatalogFile::parse(&text)?;
            let database = open(&config).await?;
            parsed.store(&database.conn).await?;
            println!(
                "loaded {name}: {} integrations (catalog version {})",
                parsed.integrations.len(),
                parsed.catalog_version
            );
            Ok(())
        }
    }
}
