//! SQLite's write-ahead log, checkpointed in the background.
//!
//! By default SQLite checkpoints inside whichever commit pushes the log past
//! 1,000 pages: that commit copies the pages into the database file and
//! fsyncs it before it returns. At a few thousand deliveries a second this
//! lands on an acknowledgement batch about twice a second and holds every
//! delivery in it for the length of the copy. So the pool's connections
//! never checkpoint on commit (`wal_autocheckpoint = 0`), and one task runs
//! a passive checkpoint every [`EVERY`]. A passive checkpoint takes no
//! write lock: commits go on while it copies, and the next commit after a
//! complete one starts the log again from its beginning.
use std::time::{Duration, Instant};

use sqlx::SqlitePool;

/// How often the log is checkpointed.
pub const EVERY: Duration = Duration::from_millis(250);

/// The pragma each pooled connection gets (no checkpoint on commit).
pub const AUTOCHECKPOINT_OFF: (&str, &str) = ("wal_autocheckpoint", "0");

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
    use sea_orm::{ConnectionTrait, TransactionTrait};

    use crate::config::Config;

    /// Commits never checkpoint on their own, and the background task
    /// copies the log into the database file.
    #[tokio::test]
    async fn the_checkpointer_copies_the_log_commits_do_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let db = crate::db::connect(&config).await.expect("connect");
        let pool = db.conn.get_sqlite_connection_pool().clone();
        for _ in 0..3 {
            let (pages,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
                .fetch_one(&pool)
                .await
                .expect("pragma");
            assert_eq!(pages, 0, "a pooled connection checkpoints on commit");
        }
        db.conn
            .execute_unprepared("CREATE TABLE filler (body BLOB NOT NULL)")
            .await
            .expect("table");
        // About 2,000 pages over 20 commits: with SQLite's default, the
        // commit past 1,000 pages would checkpoint itself.
        for _ in 0..20 {
            let txn = db.conn.begin().await.expect("begin");
            for _ in 0..100 {
                txn.execute_unprepared("INSERT INTO filler VALUES (randomblob(4000))")
                    .await
                    .expect("insert");
            }
            txn.commit().await.expect("commit");
        }
        let file = dir.path().join("plugboard.db");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let size = std::fs::metadata(&file).expect("database file").len();
            if size > 7_000_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the log was not copied into the database file ({size} bytes)"
            );
            tokio::time::sleep(super::EVERY / 2).await;
        }
        let last = super::checkpoint(&pool).await.expect("checkpoint");
        assert_eq!(last.copied_frames, last.log_frames, "{last:?}");
    }
}
