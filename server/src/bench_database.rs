//! The database a benchmark runs on: the embedded SQLite file by default,
//! or with `--database-url postgres://…` a PostgreSQL database of the
//! run's own, created first and dropped after.
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::bench::{setup_err, BenchError};
use crate::config::{Config, Redacted};

/// A PostgreSQL database of the run's own.
pub(crate) struct BenchDatabase {
    admin: DatabaseConnection,
    name: String,
    pub(crate) url: String,
}

impl BenchDatabase {
    pub(crate) async fn create(admin_url: &str) -> Result<Self, BenchError> {
        let admin = Database::connect(admin_url)
            .await
            .map_err(|e| BenchError::Setup(format!("PostgreSQL at {admin_url}: {e}")))?;
        let name = format!("plugboard_bench_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .map_err(setup_err)?;
        let (base, _) = admin_url
            .rsplit_once('/')
            .ok_or_else(|| BenchError::Setup("--postgres-url needs a database path".into()))?;
        Ok(BenchDatabase {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }

    pub(crate) async fn drop_it(self) {
        let _ = self
            .admin
            .execute(Statement::from_string(
                self.admin.get_database_backend(),
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ))
            .await;
        let _ = self.admin.close().await;
    }
}

/// Points `config` at a fresh PostgreSQL database when `postgres` is
/// given (with generated encryption keys); answers it, for dropping.
pub(crate) async fn use_engine(
    config: &mut Config,
    postgres: Option<&str>,
) -> Result<Option<BenchDatabase>, BenchError> {
    let Some(admin_url) = postgres else {
        return Ok(None);
    };
    let database = BenchDatabase::create(admin_url).await?;
    config.database_url = Some(database.url.clone());
    config.encryption_keys = Some(Redacted(crate::keys::generate_entry("k1")));
    Ok(Some(database))
}

/// The engine's name in a benchmark's heading.
pub(crate) fn engine_name(postgres: Option<&str>) -> &'static str {
    if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (embedded)"
    }
}
