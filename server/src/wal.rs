//! SQLite's write-ahead log, checkpointed in the background.
//!
//! By default SQLite checkpoints inside whichever commit pushes the log past
//! 1,000 pages: that commit copies the pages into the database file and
//! fsyncs it before it returns. At a few thousand deliveries a second this
//! lands on an acknowledgement batch about twice a second and holds every
//! delivery in it for the length of the copy. So the pool's connections
//! checkpoint on commit only as a backstop, past [`AUTOCHECKPOINT_PAGES`]
//! (about 40 MB of log), and one task runs a passive checkpoint every
//! [`EVERY`]. A passive checkpoint takes no write lock: commits go on while
//! it copies, and the next commit after a complete one starts the log
//! again from its beginning. (Under a steady stream of commits a passive
//! checkpoint may never see the log complete; the backstop keeps the log
//! from growing without end then.)
use std::time::{Duration, Instant};

use sqlx::SqlitePool;

/// How often the log is checkpointed.
pub const EVERY: Duration = Duration::from_millis(250);

/// Log pages past which a commit checkpoints itself (the backstop;
/// SQLite's default is 1,000).
pub const AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Checkpoints `pool`'s log every `every` until the pool is closed.
pub fn spawn_checkpointer(pool: SqlitePool, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                return;
            }
            checkpoint(&pool).await;
        }
    });
}

/// One passive checkpoint; a failure is logged and the next tick retries.
pub async fn checkpoint(pool: &SqlitePool) -> Option<Checkpoint> {
    let started = Instant::now();
    let row: Result<(i64, i64, i64), sqlx::Error> =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await;
    match row {
        Ok((busy, log_frames, copied_frames)) => {
            let done = Checkpoint {
                busy: busy != 0,
                log_frames,
                copied_frames,
            };
            if log_frames > 0 {
                tracing::debug!(
                    log_frames,
                    copied_frames,
                    busy = done.busy,
                    took_us = started.elapsed().as_micros() as u64,
                    "write-ahead log checkpointed"
                );
            }
            Some(done)
        }
        Err(e) => {
            if !pool.is_closed() {
                tracing::warn!(error = %e, "write-ahead log checkpoint failed; retrying");
            }
            None
        }
    }
}

/// What a checkpoint reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Another checkpoint was running.
    pub busy: bool,
    /// Frames in the log.
    pub log_frames: i64,
    /// Frames copied into the database file (all of them once no reader
    /// needs the older ones).
    pub copied_frames: i64,
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::{Connection, SqlitePool};

    use crate::config::Config;

    /// Creates `table` and fills it with `commits` commits of `rows` rows
    /// of about one page each.
    async fn fill(pool: &SqlitePool, table: &str, commits: usize, rows: usize) {
        sqlx::query(&format!("CREATE TABLE {table} (body BLOB NOT NULL)"))
            .execute(pool)
            .await
            .expect("table");
        let insert = format!("INSERT INTO {table} VALUES (randomblob(4000))");
        for _ in 0..commits {
            let mut conn = pool.acquire().await.expect("connection");
            let mut txn = conn.begin().await.expect("begin");
            for _ in 0..rows {
                sqlx::query(&insert)
                    .execute(&mut *txn)
                    .await
                    .expect("insert");
            }
            txn.commit().await.expect("commit");
        }
    }

    /// Commits leave the log alone; the background task copies it.
    #[tokio::test]
    async fn commits_leave_the_log_to_the_checkpointer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("wal.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(crate::db::sqlite_options(&url).expect("options"))
            .await
            .expect("pool");
        // About 2,000 pages in 20 commits (SQLite's default would
        // checkpoint at 1,000).
        fill(&pool, "filler", 20, 100).await;
        // No checkpointer yet: had a commit checkpointed, a later one would
        // have started the log again, and it would hold far fewer frames.
        let first = super::checkpoint(&pool).await.expect("checkpoint");
        assert!(first.log_frames > 1_500, "a commit checkpointed: {first:?}");
        assert_eq!(first.copied_frames, first.log_frames, "{first:?}");

        // The background task copies what later commits write.
        let before = std::fs::metadata(&file).expect("database file").len();
        // More rows, in a second table (the database file has to grow).
        fill(&pool, "more_filler", 1, 3000).await;
        super::spawn_checkpointer(pool.clone(), super::EVERY);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let size = std::fs::metadata(&file).expect("database file").len();
            if size > before + 4_000_000 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the checkpointer did not copy the log ({size} bytes, {before} before)"
            );
            tokio::time::sleep(super::EVERY / 2).await;
        }
        pool.close().await;
    }

    /// The server's pool gets the backstop, not SQLite's default.
    #[tokio::test]
    async fn the_servers_connections_checkpoint_only_as_a_backstop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let db = crate::db::connect(&config).await.expect("connect");
        let pool = db.conn.get_sqlite_connection_pool();
        let (pages,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
            .fetch_one(pool)
            .await
            .expect("pragma");
        assert_eq!(pages, i64::from(super::AUTOCHECKPOINT_PAGES));
    }
}
