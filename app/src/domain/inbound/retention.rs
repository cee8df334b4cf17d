//! Retention of inbound data: raw bodies, event rows and idempotency keys
//! older than the window are deleted. An event still waiting to be
//! processed (`received`) is never deleted, nor is the blob segment that
//! holds its body: nothing acknowledged is lost to retention.
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use entity::{inbound_event, inbound_idempotency};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::blob::BlobStore;
use crate::error::{AppError, AppResult};

/// Rows per DELETE, so one purge never holds the write lock for long.
const CHUNK: u64 = 2000;
/// Bodies of events still waiting are kept with this much to spare.
const SEGMENT_CLOCK_MARGIN: time::Duration = time::Duration::minutes(10);

/// What one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: u64,
    pub keys: u64,
    pub segments: usize,
}

/// Deletes what is older than `retention`.
pub async fn purge<C: ConnectionTrait>(
    db: &C,
    blobs: &Arc<dyn BlobStore>,
    retention: Duration,
) -> AppResult<Purged> {
    let now = entity::now();
    let window = time::Duration::try_from(retention).unwrap_or(time::Duration::days(36_500));
    let cutoff = now - window.min(time::Duration::days(36_500));
    let mut purged = Purged::default();
    // Event rows in a final state, a chunk at a time.
    loop {
        let ids: Vec<Uuid> = inbound_event::Entity::find()
            .select_only()
            .column(inbound_event::Column::Id)
            .filter(inbound_event::Column::ReceivedAt.lt(cutoff))
            .filter(inbound_event::Column::Status.ne(inbound_event::status::RECEIVED))
            .limit(CHUNK)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            break;
        }
        let n = inbound_event::Entity::delete_many()
            .filter(inbound_event::Column::Id.is_in(ids.clone()))
            .filter(inbound_event::Column::Status.ne(inbound_event::status::RECEIVED))
            .exec(db)
            .await?
            .rows_affected;
        purged.events += n;
        if (ids.len() as u64) < CHUNK {
            break;
        }
    }
    // Idempotency keys: a repeat after the window is accepted as new.
    loop {
        let events: Vec<Uuid> = inbound_idempotency::Entity::find()
            .select_only()
            .column(inbound_idempotency::Column::EventId)
            .filter(inbound_idempotency::Column::CreatedAt.lt(cutoff))
            .limit(CHUNK)
            .into_tuple()
            .all(db)
            .await?;
        if events.is_empty() {
            break;
        }
        let n = inbound_idempotency::Entity::delete_many()
            .filter(inbound_idempotency::Column::EventId.is_in(events.clone()))
            .filter(inbound_idempotency::Column::CreatedAt.lt(cutoff))
            .exec(db)
            .await?
            .rows_affected;
        purged.keys += n;
        if (events.len() as u64) < CHUNK {
            break;
        }
    }
    // Bodies: never past the oldest event still waiting to be processed.
    let oldest_waiting = inbound_event::Entity::find()
        .filter(inbound_event::Column::Status.eq(inbound_event::status::RECEIVED))
        .order_by_asc(inbound_event::Column::ReceivedAt)
        .one(db)
        .await?
        .map(|e| e.received_at);
    // A segment's age is its file's modification time, taken a moment
    // before the event's `received_at`: keep a margin.
    let blob_cutoff = match oldest_waiting {
        Some(t) if t - SEGMENT_CLOCK_MARGIN < cutoff => t - SEGMENT_CLOCK_MARGIN,
        _ => cutoff,
    };
    let blob_cutoff =
        SystemTime::UNIX_EPOCH + Duration::from_secs(blob_cutoff.unix_timestamp().max(0) as u64);
    purged.segments = blobs.purge_before(blob_cutoff).await.map_err(|e| {
        tracing::error!(error = %e, "purging raw payloads failed");
        AppError::Internal
    })?;
    Ok(purged)
}
