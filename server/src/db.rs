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
    /// For work derived from what `conn` stored durably (the inbound
    /// processor). On SQLite its commits do not wait for their own fsync
    /// (`synchronous = NORMAL`): the next acknowledgement commit's fsync of
    /// the log, or the next checkpoint, makes them durable too. A power
    /// loss can take back the last few milliseconds of such work; the
    /// events it came from are then still `received` and are processed
    /// again. On PostgreSQL it is `conn`.
    pub background: DatabaseConnection,
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
        let base = SqliteConnectOptions::from_str(&url)
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Commits leave checkpoints to the background task (see `wal`).
            .pragma(wal::AUTOCHECKPOINT_OFF.0, wal::AUTOCHECKPOINT_OFF.1);
        let pool = SqlitePoolOptions::new()
            .max_connections(config.database_max_connections)
            // FULL keeps every acknowledged commit across power loss, not only crashes.
            .connect_with(base.clone().synchronous(SqliteSynchronous::Full))
            .await
            .map_err(connect_err)?;
        let background = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(base.synchronous(SqliteSynchronous::Normal))
            .await
            .map_err(connect_err)?;
        wal::spawn_checkpointer(pool.clone(), wal::EVERY);
        Ok(Database {
            conn: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool.clone()),
            background: SqlxSqliteConnector::from_sqlx_sqlite_pool(background),
            sessions: DbSessionStore::Sqlite(SqliteStore::new(pool)),
        })
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(config.database_max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .map_err(connect_err)?;
        let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
        Ok(Database {
            background: conn.clone(),
            conn,
            sessions: DbSessionStore::Postgres(PostgresStore::new(pool)),
        })
    }
}

/// Applies every pending migration, ours and the session store's.
pub async fn migrate(db: &Database) -> Result<(), DbError> {
    Migrator::up(&db.conn, None).await?;
    db.sessions.migrate().await.map_err(DbError::Sessions)?;
    Ok(())
}
