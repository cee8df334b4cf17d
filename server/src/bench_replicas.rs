//! `plugboard bench replicas`: ingest and delivery throughput of one and of
//! several `plugboard serve` processes sharing one PostgreSQL database and
//! one S3-compatible payload store.
//!
//! For each replica count it creates a fresh PostgreSQL database, starts an
//! S3 prefix of its own on one s3s-fs server (the one `scripts/setup.sh`
//! installs, started here on a free loopback port), starts that many real
//! server processes on free loopback ports, and then:
//! 1. ingest: `concurrency` senders post signed 1 KB menu webhooks for
//!    `seconds`, spread evenly over the replicas: acknowledged/s (each
//!    acknowledgement is durable in S3 and PostgreSQL) with p50/p99, then
//!    processed/s from the first send until no acknowledged event is left
//!    unprocessed;
//! 2. deliveries: `count` deliveries are queued in one transaction and the
//!    replicas' workers send them to a loopback receiver: deliveries/s
//!    until the last is recorded as succeeded.
//!
//! Every wait is bounded; every process it starts is stopped by its pid;
//! only 127.0.0.1 is contacted.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::{delivery, inbound_event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};
use serde_json::json;

use crate::bench::{closed_loop, connect, setup_err, BenchError, Phase, Target};
use crate::bench_database::BenchDatabase;

/// Knobs of the run.
#[derive(Clone, Debug)]
pub struct ReplicasBench {
    /// Replica counts to measure, in turn.
    pub replicas: Vec<usize>,
    pub seconds: u64,
    pub concurrency: usize,
    pub count: u64,
    /// A PostgreSQL URL whose user may create databases.
    pub postgres_url: String,
    /// The s3s-fs binary.
    pub s3s_fs: PathBuf,
}

const S3_KEY: &str = "plugboard-bench";
const S3_SECRET: &str = "plugboard-bench-secret";
const BUCKET: &str = "bench";

/// Runs the benchmark and prints the figures.
pub async fn run(args: ReplicasBench) -> Result<(), BenchError> {
    if !args.s3s_fs.is_file() {
        return Err(BenchError::Setup(format!(
            "no S3 server at {} (scripts/setup.sh --browser installs s3s-fs; or pass --s3s-fs)",
            args.s3s_fs.display()
        )));
    }
    let root = std::env::temp_dir().join(format!("plugboard-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(root.join("s3").join(BUCKET)).map_err(setup_err)?;
    let s3 = Spawned::s3s_fs(&args.s3s_fs, &root.join("s3"))?;
    let result = measure_all(&args, &root, &s3).await;
    drop(s3);
    let _ = std::fs::remove_dir_all(&root);
    result
}

async fn measure_all(args: &ReplicasBench, root: &Path, s3: &Spawned) -> Result<(), BenchError> {
    println!(
        "Plugboard replicas benchmark — PostgreSQL + S3 (s3s-fs), loopback, 1 KB signed webhooks, processing on"
    );
    println!(
        "ingest: {} senders for {} s spread over the replicas; deliveries: {} queued, sent by the replicas' workers",
        args.concurrency, args.seconds, args.count
    );
    let mut rows = Vec::new();
    for &n in &args.replicas {
        let database = BenchDatabase::create(&args.postgres_url).await?;
        let run = measure(args, n, root, s3, &database).await;
        database.drop_it().await;
        rows.push((n, run?));
    }
    println!();
    println!("| replicas | acknowledged | failed | ack/s | p50 ms | p99 ms | processed/s | deliveries | deliveries/s |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (n, mut r) in rows {
        let (p50, p99) = (r.ingest.pct(0.50), r.ingest.pct(0.99));
        println!(
            "| {n} | {} | {} | {:.0} | {p50:.2} | {p99:.2} | {:.0} | {} | {:.0} |",
            r.ingest.ok,
            r.ingest.failed,
            r.ingest.per_sec(),
            r.processed_per_sec,
            r.delivered,
            r.delivered_per_sec,
        );
    }
    Ok(())
}

struct Figures {
    ingest: Phase,
    processed_per_sec: f64,
    delivered: u64,
    delivered_per_sec: f64,
}

async fn measure(
    args: &ReplicasBench,
    replicas: usize,
    root: &Path,
    s3: &Spawned,
    database: &BenchDatabase,
) -> Result<Figures, BenchError> {
    let keys = crate::keys::generate_entry("k1");
    let prefix = format!("s3://{BUCKET}/run-{}", uuid::Uuid::new_v4().simple());
    let mut processes = Vec::new();
    for r in 0..replicas {
        let dir = root.join(format!("replica-{}", uuid::Uuid::new_v4().simple()));
        processes.push(Spawned::plugboard(
            &dir,
            &[
                ("PLUGBOARD_DATABASE_URL", database.url.as_str()),
                ("PLUGBOARD_ENCRYPTION_KEYS", keys.as_str()),
                ("PLUGBOARD_BLOB_URL", prefix.as_str()),
                ("PLUGBOARD_BLOB_S3_ENDPOINT", s3.url.as_str()),
                ("PLUGBOARD_BLOB_S3_ACCESS_KEY_ID", S3_KEY),
                ("PLUGBOARD_BLOB_S3_SECRET_ACCESS_KEY", S3_SECRET),
            ],
        )?);
        // The first migrates; the others start on a migrated schema.
        if r == 0 {
            processes[0].ready().await?;
        }
    }
    for p in &processes {
        p.ready().await?;
    }
    let db = Database::connect(&database.url).await.map_err(setup_err)?;

    // Ingest, spread over the replicas.
    let target = connect(&processes[0].url).await?;
    let targets: Vec<Arc<Target>> = processes
        .iter()
        .map(|p| {
            Arc::new(Target {
                url: target.url.replace(&processes[0].url, &p.url),
                account: target.account.clone(),
                secret: target.secret.clone(),
                api: None,
            })
        })
        .collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(setup_err)?;
    let duration = Duration::from_secs(args.seconds.max(1));
    let per_replica = (args.concurrency / replicas).max(1);
    let started = Instant::now();
    let mut loops = tokio::task::JoinSet::new();
    for (r, t) in targets.iter().enumerate() {
        let (client, t) = (client.clone(), t.clone());
        loops.spawn(async move {
            closed_loop(
                &client,
                &t,
                per_replica,
                duration,
                r as u64 * 10_000_000_000_000,
            )
            .await
        });
    }
    let mut ingest = Phase::default();
    while let Some(phase) = loops.join_next().await {
        ingest.merge(phase.map_err(setup_err)?);
    }
    let processed = until(Duration::from_secs(120), || async {
        let left = inbound_event::Entity::find()
            .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
            .count(&db)
            .await
            .map_err(setup_err)?;
        Ok(left == 0)
    })
    .await?;
    let events = inbound_event::Entity::find()
        .count(&db)
        .await
        .map_err(setup_err)?;
    if !processed {
        let left = inbound_event::Entity::find()
            .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
            .count(&db)
            .await
            .map_err(setup_err)?;
        return Err(BenchError::Setup(format!(
            "{left} of {events} acknowledged events still unprocessed after 120 s"
        )));
    }
    let processed_per_sec = events as f64 / started.elapsed().as_secs_f64();

    // Deliveries queued at once, sent by every replica's workers.
    let (received, receiver) = crate::bench_deliveries::receiver().await?;
    let api = reqwest::Client::new();
    let (base, token) = target
        .api
        .clone()
        .ok_or_else(|| BenchError::Setup("no API token".into()))?;
    let endpoint =
        crate::bench_deliveries::register_endpoint(&api, &base, &token, json!({"url": receiver}))
            .await?;
    crate::bench_deliveries::queue_deliveries(&db, endpoint, args.count).await?;
    let queued = Instant::now();
    let succeeded = || async {
        delivery::Entity::find()
            .filter(delivery::Column::Status.eq(delivery::status::SUCCEEDED))
            .filter(delivery::Column::EndpointId.eq(endpoint))
            .count(&db)
            .await
            .map_err(setup_err)
    };
    let all_sent = until(Duration::from_secs(120), || async {
        Ok(succeeded().await? >= args.count)
    })
    .await?;
    let delivered = succeeded().await?;
    if !all_sent {
        let statuses = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT status, count(*) AS n FROM deliveries GROUP BY status".to_string(),
            ))
            .await
            .map_err(setup_err)?
            .iter()
            .map(|row| {
                let status: String = row.try_get("", "status").unwrap_or_default();
                let n: i64 = row.try_get("", "n").unwrap_or_default();
                format!("{status}: {n}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(BenchError::Setup(format!(
            "{delivered} of {} deliveries succeeded after 120 s ({statuses}); the receiver got {}",
            args.count,
            received.load(Ordering::Relaxed)
        )));
    }
    let delivered_per_sec = delivered as f64 / queued.elapsed().as_secs_f64();
    if received.load(Ordering::Relaxed) < delivered {
        return Err(BenchError::Setup(format!(
            "the receiver got {} requests for {delivered} recorded deliveries",
            received.load(Ordering::Relaxed)
        )));
    }
    db.close().await.map_err(setup_err)?;
    drop(processes);
    Ok(Figures {
        ingest,
        processed_per_sec,
        delivered,
        delivered_per_sec,
    })
}

/// Polls `done` every 20 ms until it answers true or `limit` passes;
/// answers whether it did.
async fn until<F, Fut>(limit: Duration, mut done: F) -> Result<bool, BenchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, BenchError>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if done().await? {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A process this benchmark started, stopped by its pid when dropped.
struct Spawned {
    child: Child,
    url: String,
}

impl Spawned {
    fn s3s_fs(binary: &Path, root: &Path) -> Result<Self, BenchError> {
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_KEY, "--secret-key", S3_SECRET])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(setup_err)?;
        Ok(Spawned {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// `plugboard serve` on a free port with only the given settings (the
    /// caller's `PLUGBOARD_*` variables are not passed on).
    fn plugboard(data_dir: &Path, settings: &[(&str, &str)]) -> Result<Self, BenchError> {
        let port = free_port()?;
        let mut cmd = Command::new(std::env::current_exe().map_err(setup_err)?);
        // The replicas log at the benchmark's own level (errors by default).
        let log = std::env::var("PLUGBOARD_LOG").unwrap_or_else(|_| "error".into());
        for (name, _) in std::env::vars() {
            if name.starts_with("PLUGBOARD_") {
                cmd.env_remove(name);
            }
        }
        cmd.arg("serve")
            .env("PLUGBOARD_ADDR", format!("127.0.0.1:{port}"))
            .env("PLUGBOARD_DATA_DIR", data_dir)
            .env("PLUGBOARD_DEMO_DATA", "false")
            .env("PLUGBOARD_LOG", log)
            .env("PLUGBOARD_OUTBOUND_ALLOWLIST", "127.0.0.0/8")
            .envs(settings.iter().copied())
            // Their log lines go to the benchmark's stderr, apart from the table.
            .stdout(log_output()?)
            .stderr(Stdio::inherit());
        Ok(Spawned {
            child: cmd.spawn().map_err(setup_err)?,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Waits (60 s at most) until `/readyz` answers 200.
    async fn ready(&self) -> Result<(), BenchError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = reqwest::get(format!("{}/readyz", self.url)).await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(BenchError::Setup(format!(
            "{} did not get ready in 60 s",
            self.url
        )))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The benchmark's stderr, for a child's stdout.
fn log_output() -> Result<Stdio, BenchError> {
    use std::os::fd::AsFd;
    let fd = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(setup_err)?;
    Ok(Stdio::from(fd))
}

fn free_port() -> Result<u16, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(setup_err)?;
    Ok(listener.local_addr().map_err(setup_err)?.port())
}
