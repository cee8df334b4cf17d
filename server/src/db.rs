//! Connecting to the configured database and bringing its schema up to date.
use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
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
    /// The migration lock could not be taken (PostgreSQL).
    #[error("cannot take the migration lock: {0}")]
    MigrationLock(#[source] sqlx::Error),
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
            .connect_with(postgres_options(&url).map_err(connect_err)?)
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

/// How every PostgreSQL connection is opened: with custom plans only.
/// The workers poll their claim queries (`… SKIP LOCKED`) many times a
/// second on queues that are often empty; after five runs PostgreSQL would
/// keep one generic plan, costed for an empty table, and go on using it
/// when a burst of 20,000 rows arrives (seen: a claim taking 30 s instead
/// of 10 ms). Planning each statement costs microseconds.
pub fn postgres_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]))
}

/// Key of the PostgreSQL advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x706c_7567_626f_6172; // "plugboar"

/// Applies every pending migration, ours and the session store's. On
/// PostgreSQL they run under an advisory lock: replicas starting together
/// wait for the first one's migrations instead of racing it (the lock goes
/// with its connection if that replica dies).
pub async fn migrate(db: &Database) -> Result<(), DbError> {
    let lock = match db.conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let mut conn = db
                .conn
                .get_postgres_connection_pool()
                .acquire()
                .await
                .map_err(DbError::MigrationLock)?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *conn)
                .await
                .map_err(DbError::MigrationLock)?;
            Some(conn)
        }
        _ => None,
    };
    let migrated = async {
        Migrator::up(&db.conn, None).await?;
        db.sessions.migrate().await.map_err(DbError::Sessions)
    }
    .await;
    if let Some(mut conn) = lock {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await;
    }
    migrated
}
