//! Drives the durable queue: claims what is due (a few at a time, in
//! parallel), attempts it through the engine, and sleeps until woken or
//! the next second. Claims expire, so a crash only delays a delivery.
use std::time::Duration;

use app::domain::outbound::deliveries;
use tokio::task::JoinSet;

use super::Engine;

/// Deliveries attempted in parallel per round.
const PARALLEL: u64 = 32;

/// Starts the worker loop.
pub fn spawn(engine: Engine) {
    tokio::spawn(async move {
        loop {
            let due = match deliveries::claim_due(&engine.db, PARALLEL).await {
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
                    let id = d.id;
                    if let Err(e) = engine.attempt(d).await {
                        tracing::warn!(delivery = %id, error = %e, "delivery attempt failed to record; it is retried when its claim expires");
                    }
                });
            }
            while running.join_next().await.is_some() {}
            if !busy {
                tokio::select! {
                    _ = engine.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
        }
    });
}
