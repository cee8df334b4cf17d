//! Drives the durable queue: claims what is due in batches (one UPDATE),
//! sends the batch in parallel, records every attempt of the batch in one
//! transaction, and sleeps until woken or a quarter second passes. Claims
//! expire, so a crash only delays a delivery.
use std::time::{Duration, Instant};

use app::domain::outbound::deliveries;
use tokio::task::JoinSet;

use super::Engine;

/// Deliveries claimed and sent together.
const BATCH: u64 = 256;

/// Starts the worker loop.
pub fn spawn(engine: Engine) {
    tokio::spawn(async move {
        loop {
            let due = match deliveries::claim_due(&engine.db, BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming deliveries failed");
                    Vec::new()
                }
            };
            let busy = !due.is_empty();
            let mut running = JoinSet::new();
            for d in due {
                let engine = engine.clone();
                running.spawn(async move {
                    let started = Instant::now();
                    let outcome = engine.outcome_of(&d).await;
                    (d, outcome, started.elapsed())
                });
            }
            let mut done = Vec::new();
            while let Some(result) = running.join_next().await {
                if let Ok(attempt) = result {
                    done.push(attempt);
                }
            }
            if !done.is_empty() {
                if let Err(e) = deliveries::record_attempts(&engine.db, &engine.timing, &done).await
                {
                    tracing::warn!(error = %e, batch = done.len(), "recording delivery attempts failed; they are retried when their claims expire");
                }
            }
            if !busy {
                tokio::select! {
                    _ = engine.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
        }
    });
}
