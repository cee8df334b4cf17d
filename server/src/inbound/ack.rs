//! The acknowledgement writer: one task per process turns many concurrent
//! deliveries into one blob append (one fsync) and one database commit, then
//! answers them all. A delivery is acknowledged only after that commit.
use std::collections::HashMap;
use std::sync::Arc;

use app::domain::inbound::blob::BlobStore;
use app::domain::inbound::write_gate::WriteGate;
use entity::{inbound_event, inbound_idempotency};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryTrait,
    Set, TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// What the handler knows about a verified delivery.
pub struct NewEvent {
    pub merchant_id: Uuid,
    pub connection_id: Uuid,
    pub provider: String,
    pub family: String,
    pub topic: String,
    pub headers: serde_json::Value,
    pub body: axum::body::Bytes,
    pub body_sha256: String,
    pub idempotency_key: String,
    pub intake: Intake,
}

/// What the gateway already decided about a delivery before storing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intake {
    /// Store it for the processor.
    Accept,
    /// A script's skip sentinel: stored as skipped, nothing to process.
    Skip(String),
    /// Refused before acknowledgement (the sender gets a 5xx and retries):
    /// stored as failed for support, without taking the idempotency key, so
    /// the retry is not mistaken for a duplicate.
    Fail { class: &'static str, reason: String },
}

/// How a delivery was acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ack {
    /// Stored; it will be processed.
    Accepted { event_id: Uuid },
    /// A repeat of `original`; recorded as a duplicate, not processed again.
    Duplicate { event_id: Uuid, original: Uuid },
    /// Stored as skipped ([`Intake::Skip`]).
    Skipped { event_id: Uuid },
    /// Stored as failed ([`Intake::Fail`]).
    Failed { event_id: Uuid },
}

/// Why a delivery could not be stored (the sender should retry).
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("raw payload store failed: {0}")]
    Blob(String),
    /// The batch this delivery was in could not be stored.
    #[error("storing the batch failed: {0}")]
    Batch(String),
    #[error("database failed: {0}")]
    Db(#[from] DbErr),
    #[error("the acknowledgement writer stopped")]
    Stopped,
}

/// Rows per statement (under SQLite's and PostgreSQL's parameter limits).
const CHUNK: usize = 400;
/// Deliveries per commit at most: stored batches waiting for the commit
/// stage are merged up to this many, so one commit never holds the write
/// gate for long and one failure answers a bounded number of senders.
const MERGE_LIMIT: usize = 1024;
/// Stored batches that may wait for the commit stage.
const STORED_QUEUE: usize = 32;

struct Job {
    event: NewEvent,
    reply: oneshot::Sender<Result<Ack, String>>,
    queued: std::time::Instant,
}

/// A batch whose bodies are durably in the blob store, waiting for its
/// database commit.
struct Stored {
    events: Vec<NewEvent>,
    blob_keys: Vec<String>,
    replies: Vec<oneshot::Sender<Result<Ack, String>>>,
    /// When the batch's first delivery was queued, when its bodies began
    /// to be stored and when they were.
    queued: std::time::Instant,
    picked: std::time::Instant,
    stored_at: std::time::Instant,
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct AckWriter {
    tx: mpsc::Sender<Job>,
}

impl AckWriter {
    /// Starts the writer; batches hold at most `max_batch` deliveries;
    /// `committed` is notified after every commit (the processor waits on it).
    ///
    /// Two stages run side by side: while one batch commits to the
    /// database, the next one's bodies are appended and fsynced, so the two
    /// durable writes of consecutive batches overlap.
    pub fn spawn(
        db: DatabaseConnection,
        blobs: Arc<dyn BlobStore>,
        gate: Option<Arc<WriteGate>>,
        max_batch: usize,
        committed: Arc<tokio::sync::Notify>,
    ) -> Self {
        let max_batch = max_batch.max(1);
        let (tx, rx) = mpsc::channel(max_batch * 8);
        let (stored_tx, stored_rx) = mpsc::channel(STORED_QUEUE);
        tokio::spawn(store_bodies(blobs, rx, stored_tx, max_batch));
        tokio::spawn(commit_rows(db, gate, stored_rx, committed));
        AckWriter { tx }
    }

    /// Stores one delivery durably and answers how it was acknowledged.
    pub async fn submit(&self, event: NewEvent) -> Result<Ack, AckError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                event,
                reply,
                queued: std::time::Instant::now(),
            })
            .await
            .map_err(|_| AckError::Stopped)?;
        match answer.await {
            Ok(Ok(ack)) => Ok(ack),
            Ok(Err(e)) => Err(AckError::Batch(e)),
            Err(_) => Err(AckError::Stopped),
        }
    }
}

/// First stage: gathers what is waiting into a batch and appends its
/// bodies to the blob store (one fsync).
async fn store_bodies(
    blobs: Arc<dyn BlobStore>,
    mut rx: mpsc::Receiver<Job>,
    stored: mpsc::Sender<Stored>,
    max_batch: usize,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let queued = batch
            .iter()
            .map(|j| j.queued)
            .min()
            .unwrap_or_else(std::time::Instant::now);
        let (events, replies): (Vec<NewEvent>, Vec<_>) =
            batch.into_iter().map(|j| (j.event, j.reply)).unzip();
        let started = std::time::Instant::now();
        match put_bodies(&blobs, events).await {
            Ok((events, blob_keys)) => {
                tracing::debug!(
                    batch = events.len(),
                    blob_us = started.elapsed().as_micros() as u64,
                    "acknowledgement batch bodies stored"
                );
                let next = Stored {
                    events,
                    blob_keys,
                    replies,
                    queued,
                    picked: started,
                    stored_at: std::time::Instant::now(),
                };
                if stored.send(next).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store inbound bodies; senders will retry");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

async fn put_bodies(
    blobs: &Arc<dyn BlobStore>,
    events: Vec<NewEvent>,
) -> Result<(Vec<NewEvent>, Vec<String>), AckError> {
    let bodies = events.iter().map(|e| e.body.clone()).collect();
    let keys = blobs
        .put_batch(bodies)
        .await
        .map_err(|e| AckError::Blob(e.to_string()))?;
    Ok((events, keys))
}

/// Second stage: takes the write gate (SQLite), then commits the rows of
/// every stored batch waiting by then, up to [`MERGE_LIMIT`] deliveries
/// (one transaction, one fsync), and answers their senders. Gathering
/// after the gate is taken matters under load: what was stored while the
/// stage waited for the processor joins this commit instead of waiting for
/// the gate a second time in the next.
async fn commit_rows(
    db: DatabaseConnection,
    gate: Option<Arc<WriteGate>>,
    mut rx: mpsc::Receiver<Stored>,
    committed: Arc<tokio::sync::Notify>,
) {
    while let Some(first) = rx.recv().await {
        let picked = std::time::Instant::now();
        let guard = match gate.as_deref() {
            Some(g) => Some(g.urgent().await),
            None => None,
        };
        let gated = std::time::Instant::now();
        let mut events = first.events;
        let mut blob_keys = first.blob_keys;
        let mut replies = first.replies;
        let (queued, stored_at) = (first.queued, first.stored_at);
        let store_us = (stored_at - first.picked).as_micros() as u64;
        let queue_us = (first.picked - queued).as_micros() as u64;
        while events.len() < MERGE_LIMIT {
            let Ok(more) = rx.try_recv() else { break };
            events.extend(more.events);
            blob_keys.extend(more.blob_keys);
            replies.extend(more.replies);
        }
        let written = write_rows(&db, events, blob_keys).await;
        drop(guard);
        match written {
            Ok(acks) => {
                tracing::debug!(
                    batch = acks.len(),
                    oldest_us = queued.elapsed().as_micros() as u64,
                    queue_us,
                    store_us,
                    handoff_us = (picked - stored_at).as_micros() as u64,
                    gate_wait_us = (gated - picked).as_micros() as u64,
                    db_us = gated.elapsed().as_micros() as u64,
                    "acknowledgement batch answered"
                );
                committed.notify_one();
                for (reply, ack) in replies.into_iter().zip(acks) {
                    let _ = reply.send(Ok(ack));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store inbound deliveries; senders will retry");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// Writes the rows of one commit (the caller holds the write gate).
async fn write_rows(
    db: &DatabaseConnection,
    events: Vec<NewEvent>,
    keys: Vec<String>,
) -> Result<Vec<Ack>, AckError> {
    let started = std::time::Instant::now();
    let now = entity::now();
    let txn = db.begin().await?;
    // Write first (the transaction takes SQLite's write lock at once):
    // every key new to this batch, first occurrence wins, existing keys
    // left alone.
    let mut decided: Vec<(Uuid, Option<Uuid>)> = Vec::with_capacity(events.len());
    let mut in_batch: HashMap<(String, Uuid, String), Uuid> = HashMap::new();
    let mut new_keys = Vec::new();
    for e in &events {
        let id = Uuid::now_v7();
        if matches!(e.intake, Intake::Fail { .. }) {
            // Takes no key; still answered as a duplicate if one exists.
            decided.push((id, None));
            continue;
        }
        let k = (e.provider.clone(), e.merchant_id, e.idempotency_key.clone());
        match in_batch.get(&k) {
            Some(first) => decided.push((id, Some(*first))),
            None => {
                in_batch.insert(k, id);
                decided.push((id, None));
                new_keys.push(inbound_idempotency::ActiveModel {
                    provider: Set(e.provider.clone()),
                    merchant_id: Set(e.merchant_id),
                    key: Set(e.idempotency_key.clone()),
                    event_id: Set(id),
                    created_at: Set(now),
                });
            }
        }
    }
    let t_begin = started.elapsed();
    // The keys this batch took come back from the insert itself; the
    // others repeat an earlier delivery (or one another process stored first).
    let backend = txn.get_database_backend();
    let mut stored = std::collections::HashSet::new();
    for chunk in new_keys.chunks(CHUNK) {
        let mut insert = inbound_idempotency::Entity::insert_many(chunk.to_vec())
            .on_conflict(inbound_idempotency::Entity::first_keeps_key());
        insert
            .query()
            .returning_col(inbound_idempotency::Column::EventId);
        for row in txn.query_all(insert.build(backend)).await? {
            stored.insert(row.try_get::<Uuid>("", "event_id")?);
        }
    }
    for (i, (id, dup)) in decided.iter_mut().enumerate() {
        if dup.is_none() && !stored.contains(id) {
            let e = &events[i];
            *dup = inbound_idempotency::Entity::find()
                .filter(inbound_idempotency::Column::Provider.eq(e.provider.clone()))
                .filter(inbound_idempotency::Column::MerchantId.eq(e.merchant_id))
                .filter(inbound_idempotency::Column::Key.eq(e.idempotency_key.clone()))
                .one(&txn)
                .await?
                .map(|k| k.event_id);
        }
    }
    // A repeat within the batch points at the original, not at a duplicate.
    let resolved: HashMap<Uuid, Option<Uuid>> = decided.iter().copied().collect();
    for (_, dup) in decided.iter_mut() {
        if let Some(first) = *dup {
            if let Some(Some(original)) = resolved.get(&first) {
                *dup = Some(*original);
            }
        }
    }
    let mut rows = Vec::with_capacity(events.len());
    let mut acks = Vec::with_capacity(events.len());
    for ((event, blob_key), (id, original)) in events.into_iter().zip(keys).zip(decided) {
        let (status, class, reason, processed_at) = match (&original, &event.intake) {
            (Some(o), _) => (
                inbound_event::status::DUPLICATE,
                Some(inbound_event::failure::DUPLICATE.to_string()),
                Some(format!("repeat of event {o}")),
                None,
            ),
            (None, Intake::Accept) => (inbound_event::status::RECEIVED, None, None, None),
            (None, Intake::Skip(reason)) => (
                inbound_event::status::SKIPPED,
                None,
                Some(reason.clone()),
                Some(now),
            ),
            (None, Intake::Fail { class, reason }) => (
                inbound_event::status::FAILED,
                Some(class.to_string()),
                Some(reason.clone()),
                Some(now),
            ),
        };
        let ack = match (original, &event.intake) {
            (Some(original), _) => Ack::Duplicate {
                event_id: id,
                original,
            },
            (None, Intake::Accept) => Ack::Accepted { event_id: id },
            (None, Intake::Skip(_)) => Ack::Skipped { event_id: id },
            (None, Intake::Fail { .. }) => Ack::Failed { event_id: id },
        };
        rows.push(inbound_event::ActiveModel {
            id: Set(id),
            merchant_id: Set(event.merchant_id),
            connection_id: Set(event.connection_id),
            provider: Set(event.provider),
            family: Set(event.family),
            topic: Set(event.topic),
            location_id: Set(None),
            provider_store_id: Set(None),
            received_at: Set(now),
            headers: Set(event.headers),
            blob_key: Set(blob_key),
            body_sha256: Set(event.body_sha256),
            body_size: Set(event.body.len() as i64),
            idempotency_key: Set(event.idempotency_key),
            status: Set(status.into()),
            failure_class: Set(class),
            failure_reason: Set(reason),
            duplicate_of: Set(original),
            attempts: Set(0),
            claimed_until: Set(None),
            processed_at: Set(processed_at),
            commands_applied: Set(None),
            commands_total: Set(None),
        });
        acks.push(ack);
    }
    let t_rows = started.elapsed();
    for chunk in rows.chunks(CHUNK / 4) {
        inbound_event::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let t_inserted = started.elapsed();
    txn.commit().await?;
    tracing::trace!(
        begin_us = t_begin.as_micros() as u64,
        keys_us = (t_rows - t_begin).as_micros() as u64,
        rows_us = (t_inserted - t_rows).as_micros() as u64,
        commit_us = (started.elapsed() - t_inserted).as_micros() as u64,
        "acknowledgement batch phases"
    );
    Ok(acks)
}
