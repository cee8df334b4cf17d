//! Drives the durable queue: claims what is due in batches (one UPDATE),
//! reads the batch's endpoints in one query, sends the batch in parallel,
//! and records every attempt of the batch in one transaction. The next
//! batch is claimed before this one is recorded, so its sends overlap that
//! commit. Claims expire, so a crash only delays a delivery.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::domain::outbound::deliveries;
use app::domain::outbound::outcome::Outcome;
use entity::{delivery, webhook_endpoint};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use super::Engine;

/// Deliveries claimed and sent together.
const BATCH: u64 = 256;

type Attempted = (delivery::Model, Outcome, Duration);

/// Starts the worker loop.
pub fn spawn(engine: Engine) {
    tokio::spawn(async move {
        let mut recording: Option<JoinHandle<()>> = None;
        let mut due = claim(&engine).await;
        loop {
            if due.is_empty() {
                if let Some(r) = recording.take() {
                    let _ = r.await;
                }
                tokio::select! {
                    _ = engine.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
                due = claim(&engine).await;
                continue;
            }
            let done = send_all(&engine, due).await;
            // The next batch is claimed first (this one's rows are still
            // claimed, so it cannot take them), then this one is recorded
            // while the next one is being sent.
            let next = claim(&engine).await;
            if let Some(r) = recording.take() {
                let _ = r.await;
            }
            let recorder = engine.clone();
            recording = Some(tokio::spawn(async move { record(&recorder, done).await }));
            due = next;
        }
    });
}

async fn claim(engine: &Engine) -> Vec<delivery::Model> {
    let _turn = engine.background_turn().await;
    match deliveries::claim_due(&engine.db, BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "claiming deliveries failed");
            Vec::new()
        }
    }
}

async fn send_all(engine: &Engine, due: Vec<delivery::Model>) -> Vec<Attempted> {
    let endpoints = endpoints_of(engine, &due).await;
    let mut running = JoinSet::new();
    for d in due {
        let engine = engine.clone();
        let endpoint = d.endpoint_id.and_then(|id| endpoints.get(&id).cloned());
        running.spawn(async move {
            let started = Instant::now();
            let outcome = engine.outcome_with(&d, endpoint).await;
            (d, outcome, started.elapsed())
        });
    }
    let mut done = Vec::new();
    while let Some(result) = running.join_next().await {
        if let Ok(attempt) = result {
            done.push(attempt);
        }
    }
    done
}

/// The batch's endpoints, read once (a failed read leaves each delivery
/// to read its own).
async fn endpoints_of(
    engine: &Engine,
    due: &[delivery::Model],
) -> HashMap<Uuid, Arc<webhook_endpoint::Model>> {
    let mut ids: Vec<Uuid> = due.iter().filter_map(|d| d.endpoint_id).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return HashMap::new();
    }
    match webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(ids))
        .all(&engine.db)
        .await
    {
        Ok(rows) => rows.into_iter().map(|e| (e.id, Arc::new(e))).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading a batch's endpoints failed");
            HashMap::new()
        }
    }
}

async fn record(engine: &Engine, done: Vec<Attempted>) {
    let _turn = engine.background_turn().await;
    if let Err(e) = deliveries::record_attempts(&engine.db, &engine.timing, &done).await {
        tracing::warn!(error = %e, batch = done.len(), "recording delivery attempts failed; they are retried when their claims expire");
    }
}
