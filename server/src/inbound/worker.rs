//! Runs the asynchronous pipeline: woken by the acknowledgement writer
//! after each commit, and every second regardless (events left by a crash
//! or by another process are picked up too).
use std::sync::Arc;
use std::time::Duration;

use app::domain::inbound::processor::{self, Pipeline};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

/// Starts the processor loop.
pub fn spawn(db: DatabaseConnection, pipeline: Pipeline, wake: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            match processor::process_batch(&db, &pipeline, 64).await {
                Ok(n) if n > 0 => continue,
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
