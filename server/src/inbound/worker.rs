//! Runs the asynchronous pipeline: woken by the acknowledgement writer
//! after each commit, and every second regardless (events left by a crash
//! or by another process are picked up too). Under a steady stream it lets
//! events gather for a moment between small batches: fewer, larger commits
//! leave the write gate (and the disk) to the acknowledgements, which are
//! what senders wait for.
use std::sync::Arc;
use std::time::Duration;

use app::domain::inbound::processor::{self, Pipeline};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

/// Events processed per batch (one claim, one commit).
const BATCH: u64 = 256;
/// After a batch that was not full, how long events may gather.
const GATHER: Duration = Duration::from_millis(25);

/// Starts the processor loop.
pub fn spawn(db: DatabaseConnection, pipeline: Pipeline, wake: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            match processor::process_batch(&db, &pipeline, BATCH).await {
                Ok(n) if n as u64 >= BATCH => continue,
                Ok(n) if n > 0 => {
                    tokio::time::sleep(GATHER).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "inbound processing round failed"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
}
