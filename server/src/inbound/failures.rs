//! Counting refused deliveries without letting unauthenticated senders
//! write to disk at will: counts add up in memory and are flushed to
//! `inbound_auth_failures` (one row per provider, reason and minute) every
//! few seconds.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entity::inbound_auth_failure;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{DatabaseConnection, EntityTrait, Set};

/// (provider, reason, Unix minute).
type Bucket = (String, &'static str, i64);

/// Shared counters.
#[derive(Clone, Default)]
pub struct AuthFailures {
    pending: Arc<Mutex<HashMap<Bucket, i64>>>,
}

impl AuthFailures {
    /// Counts one refused delivery.
    pub fn record(&self, provider: &str, reason: &'static str) {
        let minute = entity::now().unix_timestamp() / 60;
        if let Ok(mut map) = self.pending.lock() {
            // Unknown providers are folded together: the key space stays small.
            let provider = if provider.len() > 40 { "?" } else { provider };
            *map.entry((provider.to_string(), reason, minute))
                .or_default() += 1;
        }
    }

    /// Writes the counts gathered so far.
    pub async fn flush(&self, db: &DatabaseConnection) {
        let drained: Vec<_> = match self.pending.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return,
        };
        for ((provider, reason, minute), count) in drained {
            let res = inbound_auth_failure::Entity::insert(inbound_auth_failure::ActiveModel {
                provider: Set(provider),
                reason: Set(reason.to_string()),
                minute: Set(minute),
                count: Set(count),
            })
            .on_conflict(
                OnConflict::columns([
                    inbound_auth_failure::Column::Provider,
                    inbound_auth_failure::Column::Reason,
                    inbound_auth_failure::Column::Minute,
                ])
                .value(
                    inbound_auth_failure::Column::Count,
                    Expr::col((
                        inbound_auth_failure::Entity,
                        inbound_auth_failure::Column::Count,
                    ))
                    .add(count),
                )
                .to_owned(),
            )
            .exec_without_returning(db)
            .await;
            if let Err(e) = res {
                tracing::warn!(error = %e, "could not record inbound auth failures");
            }
        }
    }

    /// Flushes every `every` in the background.
    pub fn spawn_flusher(&self, db: DatabaseConnection, every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                me.flush(&db).await;
            }
        });
    }
}
