//! Connecting to the configured database and bringing its schema up to date.
use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::config::{redact_url, Config};
use crate::session_store::DbSessionStore;
use crate::wal;
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Could not connect or open the file.
    #[error("cannot open database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sea_orm::DbErr),
    /// The session table could not be created.
    #[error("session store migration failed: {0}")]
    Sessions(#[source] sqlx::Error),
}

/// An open database with its session store.
pub struct Database {
    pub conn: DatabaseConnection,
    pub sessions: DbSessionStore,
}

/// Opens the database of `config` (creating the SQLite file and data
/// directory on first start, in WAL mode).
pub async fn connect(config: &Config) -> Result<Database, DbError> {
    let url = config.database_url();
    let connect_err = |source| DbError::Connect {
        url: redact_url(&url),
        source,
    };
    if url.starts_with("sqlite:") {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).map_err(|source| DbError::DataDir {
                path: config.data_dir.display().to_string(),
                source,
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(config.database_max_connections)
            .connect_with(sqlite_options(&url).map_err(connect_err)?)
            .await
            .map_err(connect_err)?;
        wal::spawn_checkpointer(pool.clone(), wal::EVERY);
        Ok(Database {
            conn: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool.clone()),
            sessions: DbSessionStore::Sqlite(SqliteStore::new(pool)),
        })
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(config.database_max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .map_err(connect_err)?;
        Ok(Database {
            conn: SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
            sessions: DbSessionStore::Postgres(PostgresStore::new(pool)),
        })
    }
}

/// How every SQLite connection is opened: WAL, `synchronous = FULL`
/// (every acknowledged commit survives power loss, not only crashes),
/// foreign keys, and checkpoints left to the background task (`wal`).
pub fn sqlite_options(url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("wal_autocheckpoint", wal::AUTOCHECKPOINT_PAGES.to_string()))
}

/// Applies every pending migration, ours and the session store's.
pub async fn migrate(db: &Database) -> Result<(), DbError> {
    Migrator::up(&db.conn, None).await?;
    db.sessions.migrate().await.map_err(DbError::Sessions)?;
    Ok(())
}
