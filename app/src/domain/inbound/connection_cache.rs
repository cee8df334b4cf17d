//! Provider connections as the gateway needs them on every request (the
//! connection, its opened secret, its allowlist), cached for a few seconds
//! so a webhook costs no database read. Unknown accounts are cached too, so
//! a sender repeating one costs one query per [`TTL`]; entries are bounded
//! in number and (account ids are at most 200 bytes, checked by the
//! gateway) in size. A deletion here is seen at once; in other processes
//! within [`TTL`].
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entity::crypto::KeyRing;
use entity::provider_connection;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::{AppError, AppResult};

/// How long an entry is trusted.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; past this the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// What the gateway needs of a connection.
pub struct Resolved {
    pub connection: provider_connection::Model,
    pub secret: Vec<u8>,
    pub allowlist: Vec<String>,
}

type Entry = (Instant, Option<Arc<Resolved>>);

/// The cache; cheap to clone.
#[derive(Clone, Default)]
pub struct ConnectionCache {
    entries: Arc<Mutex<HashMap<(String, String), Entry>>>,
}

impl ConnectionCache {
    /// The enabled connection of (provider, account), if any.
    pub async fn resolve<C: ConnectionTrait>(
        &self,
        db: &C,
        keys: &KeyRing,
        provider: &str,
        account: &str,
    ) -> AppResult<Option<Arc<Resolved>>> {
        let key = (provider.to_string(), account.to_string());
        if let Some((at, found)) = self.entries.lock().expect("connection cache").get(&key) {
            if at.elapsed() < TTL {
                return Ok(found.clone());
            }
        }
        let found = provider_connection::Entity::find()
            .filter(provider_connection::Column::Provider.eq(provider))
            .filter(provider_connection::Column::AccountId.eq(account))
            .one(db)
            .await?
            .filter(|c| c.enabled);
        let resolved = match found {
            Some(connection) => {
                let secret = keys.open(&connection.secret).map_err(|e| {
                    tracing::error!(error = %e, connection = %connection.id, "cannot open the connection secret");
                    AppError::Internal
                })?;
                let allowlist =
                    serde_json::from_value(connection.ip_allowlist.clone()).unwrap_or_default();
                Some(Arc::new(Resolved {
                    connection,
                    secret,
                    allowlist,
                }))
            }
            None => None,
        };
        let mut entries = self.entries.lock().expect("connection cache");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), resolved.clone()));
        Ok(resolved)
    }

    /// Forgets everything (after a connection changes in this process).
    pub fn invalidate(&self) {
        self.entries.lock().expect("connection cache").clear();
    }
}
