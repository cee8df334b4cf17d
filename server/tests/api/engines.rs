//! Real engines for the scale-out tests: an S3-protocol server (s3s-fs,
//! installed by scripts/setup.sh) started per test on a free loopback
//! port, and NATS with JetStream (the machine's, on 127.0.0.1:4222, or a
//! nats-server of the test's own). Each skips with a printed reason when
//! its engine is missing.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use server::Config;
use tempfile::TempDir;

/// Access key of the test S3 server.
pub const S3_KEY: &str = "plugboard-test";
/// Secret key of the test S3 server.
pub const S3_SECRET: &str = "plugboard-test-secret";

/// A running s3s-fs with one bucket, stopped (by pid) when dropped.
pub struct S3Server {
    child: Child,
    port: u16,
    pub endpoint: String,
    pub bucket: String,
    pub root: TempDir,
}

fn s3s_fs_binary() -> PathBuf {
    match std::env::var("PLUGBOARD_TEST_S3S_FS") {
        Ok(path) => PathBuf::from(path),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/s3s/bin/s3s-fs"),
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Waits until something listens on `port` (bounded: 10 s).
pub async fn wait_for_port(port: u16) -> bool {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn spawn_s3s(port: u16, root: &std::path::Path) -> Child {
    Command::new(s3s_fs_binary())
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", S3_KEY, "--secret-key", S3_SECRET])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs")
}

impl S3Server {
    /// Starts s3s-fs with a bucket `plugboard`, or `None` (reason printed)
    /// when the binary is not installed.
    pub async fn start() -> Option<Self> {
        let binary = s3s_fs_binary();
        if !binary.exists() {
            eprintln!(
                "SKIP (no S3 server: {} is missing; scripts/setup.sh --browser installs it)",
                binary.display()
            );
            return None;
        }
        let root = tempfile::tempdir().expect("temp dir");
        let bucket = "plugboard".to_string();
        std::fs::create_dir_all(root.path().join(&bucket)).unwrap();
        let port = free_port();
        let child = spawn_s3s(port, root.path());
        let server = S3Server {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket,
            root,
        };
        assert!(wait_for_port(port).await, "s3s-fs did not start");
        Some(server)
    }

    /// Points `config` at this server (prefix `inbound`).
    pub fn configure(&self, config: &mut Config) {
        config.blob_url = Some(format!("s3://{}/inbound", self.bucket));
        config.blob_s3_endpoint = Some(self.endpoint.clone());
        config.blob_s3_access_key_id = Some(S3_KEY.into());
        config.blob_s3_secret_access_key = Some(server::config::Redacted(S3_SECRET.into()));
        config.blob_timeout_ms = 2_000;
    }

    /// The same settings as `PLUGBOARD_*` variables, for a real process.
    pub fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "PLUGBOARD_BLOB_URL",
                format!("s3://{}/inbound", self.bucket),
            ),
            ("PLUGBOARD_BLOB_S3_ENDPOINT", self.endpoint.clone()),
            ("PLUGBOARD_BLOB_S3_ACCESS_KEY_ID", S3_KEY.into()),
            ("PLUGBOARD_BLOB_S3_SECRET_ACCESS_KEY", S3_SECRET.into()),
        ]
    }

    /// Files the server holds under the bucket's `inbound` prefix.
    pub fn objects(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        walk(&path, out);
                    } else if !path.to_string_lossy().contains(".plugboard")
                        && !path.to_string_lossy().contains(".s3s")
                    {
                        out.push(path);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &self.root.path().join(&self.bucket).join("inbound"),
            &mut out,
        );
        out
    }

    /// Starts it again on the same port and folder, after [`Self::stop`].
    pub async fn restart(&mut self) {
        self.stop();
        self.child = spawn_s3s(self.port, self.root.path());
        assert!(wait_for_port(self.port).await, "s3s-fs did not restart");
    }

    /// Stops the server (its data stays), as an outage would.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The machine's NATS (`PLUGBOARD_TEST_NATS_URL`, default
/// `nats://127.0.0.1:4222`), or `None` with the reason printed.
pub async fn nats_url() -> Option<String> {
    let url =
        std::env::var("PLUGBOARD_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(&url)
        .await
    {
        Ok(client) => match client.flush().await {
            Ok(()) => Some(url),
            Err(e) => {
                eprintln!("SKIP (NATS at {url} does not answer: {e})");
                None
            }
        },
        Err(e) => {
            eprintln!("SKIP (NATS unreachable at {url}: {e})");
            None
        }
    }
}

/// A nats-server of the test's own on `port`, with JetStream in a temp
/// folder; stopped by pid when dropped.
pub struct NatsServer {
    child: Child,
    _store: TempDir,
}

impl NatsServer {
    /// Starts `/usr/sbin/nats-server` (or `PLUGBOARD_TEST_NATS_SERVER`), or
    /// `None` (reason printed) when it is not installed.
    pub async fn start(port: u16) -> Option<Self> {
        let binary = std::env::var("PLUGBOARD_TEST_NATS_SERVER")
            .unwrap_or_else(|_| "/usr/sbin/nats-server".into());
        if !std::path::Path::new(&binary).exists() {
            eprintln!("SKIP (no nats-server at {binary})");
            return None;
        }
        let store = tempfile::tempdir().expect("temp dir");
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let server = NatsServer {
            child,
            _store: store,
        };
        assert!(wait_for_port(port).await, "nats-server did not start");
        Some(server)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port nobody listens on (yet).
pub fn unused_port() -> u16 {
    free_port()
}

/// A fresh PostgreSQL database for real processes, dropped with this.
pub struct PgDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Creates it, or `None` (reason printed) when PostgreSQL is unreachable.
    pub async fn create() -> Option<Self> {
        use sqlx::{Connection, Executor};
        let admin_url = std::env::var("PLUGBOARD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut admin = match tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::PgConnection::connect(&admin_url),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                eprintln!("SKIP (PostgreSQL unreachable at {admin_url}: {e})");
                return None;
            }
            Err(_) => {
                eprintln!("SKIP (PostgreSQL at {admin_url} did not answer in 5 s)");
                return None;
            }
        };
        let name = format!("plugboard_replicas_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let (base, _) = admin_url.rsplit_once('/').expect("a database path");
        Some(PgDatabase {
            url: format!("{base}/{name}"),
            admin_url: admin_url.clone(),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    use sqlx::{Connection, Executor};
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
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
