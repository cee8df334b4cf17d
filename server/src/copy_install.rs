//! `plugboard copy-install --to <target.toml>`: copies a whole install —
//! every table and every raw payload — into another one, typically an
//! embedded install (SQLite and local segment files) into PostgreSQL and
//! S3-compatible storage before scaling out (docs/scaling.md).
//!
//! - The source is read in one read transaction: a consistent snapshot,
//!   even if a server still writes (what it writes after the snapshot is
//!   not copied, so stop it first).
//! - The target must be empty. It is migrated, then filled in one
//!   transaction, parents before children (the order comes from the
//!   target's own foreign keys): a failed copy leaves it empty.
//! - Payloads are read from the source's store and written to the
//!   target's in batches (one object per batch in S3), and each event
//!   row's key is rewritten to its new place. A payload the source no
//!   longer has (purged by retention) keeps its key and is counted.
//! - Sealed secrets are copied as they are, so the target's
//!   `encryption_keys` must hold every key of the source
//!   (`plugboard keys export` prints them).
//! - Sign-in sessions are not copied: people sign in again.
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;

use app::domain::inbound::blob::BlobStore;
use bytes::Bytes;
use entity::inbound_event;
use futures::TryStreamExt;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityName,
    EntityTrait, IntoActiveModel, Iterable, Statement, TransactionTrait,
};

use crate::config::Config;
use crate::{db, keys, startup};

/// Bodies per payload batch, and the bytes past which a batch is written
/// early.
const PAYLOAD_BATCH: usize = 256;
const PAYLOAD_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Why the copy stopped. Nothing was committed to the target.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target config names the source's own database ({0}): give the new install's database_url")]
    SameDatabase(String),
    #[error("the target config names the source's own payload folder ({0}): give the new install a blob_url or another data_dir")]
    SamePayloads(String),
    #[error("the target database already holds data (table {table} has {rows} rows): copy-install fills an empty database")]
    NotEmpty { table: String, rows: u64 },
    #[error("the target's encryption_keys lacks the source key(s) {0}: stored secrets would be unreadable. Put the output of `plugboard keys export` (run against the source) in the target's encryption_keys")]
    Keys(String),
    #[error("the source's database has tables this command does not know ({0}): is this binary older than the install?")]
    UnknownTables(String),
    #[error("tables reference each other in a cycle: {0}")]
    Cycle(String),
    #[error("table {table}: copied {copied} rows, but the target holds {found}")]
    Verify {
        table: String,
        copied: u64,
        found: u64,
    },
    #[error("payload {key} of inbound event {event}: {source}")]
    Payload {
        key: String,
        event: uuid::Uuid,
        #[source]
        source: io::Error,
    },
    #[error("writing payloads to the target store: {0}")]
    PayloadWrite(#[source] io::Error),
    #[error(transparent)]
    Keyring(#[from] keys::KeyError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Startup(#[from] startup::StartupError),
    #[error("database: {0}")]
    Sql(#[from] DbErr),
}

/// What was copied.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows per table, in the order they were copied.
    pub tables: Vec<(String, u64)>,
    pub payloads: u64,
    pub payload_bytes: u64,
    /// Event rows whose payload the source no longer has.
    pub payloads_missing: u64,
    pub source_blobs: &'static str,
    pub target_blobs: &'static str,
}

macro_rules! tables {
    ($($module:ident),+ $(,)?) => {
        /// Every table the copy carries.
        pub fn table_names() -> Vec<String> {
            let mut names = vec![inbound_event::Entity.table_name().to_owned()];
            $(names.push(entity::$module::Entity.table_name().to_owned());)+
            names
        }

        async fn copy_named(name: &str, cx: &mut Copy<'_>) -> Result<u64, CopyError> {
            if name == inbound_event::Entity.table_name() {
                return cx.inbound_events().await;
            }
            $(
                if name == entity::$module::Entity.table_name() {
                    return cx.rows::<entity::$module::Entity>(async |_, _| Ok(())).await;
                }
            )+
            Err(CopyError::UnknownTables(name.to_string()))
        }
    };
}

tables!(
    adapter_script,
    api_token,
    audit_log,
    capability,
    catalog_item,
    catalog_variant,
    category,
    delivery,
    delivery_attempt,
    inbound_auth_failure,
    inbound_idempotency,
    install,
    install_slot,
    install_webhook_secret,
    integration,
    integration_capability,
    item_mapping,
    location,
    location_external_id,
    login_attempt,
    merchant,
    oauth_connection,
    order,
    order_status_history,
    outbox,
    outbox_cursor,
    payment,
    platform_secret,
    provider_connection,
    receipt_attachment,
    refund,
    store_mapping,
    store_status,
    user,
    variant_mapping,
    webhook_endpoint,
);

/// Copies the install `source` configures into the one `target` does.
pub async fn run(source: &Config, target: &Config) -> Result<Report, CopyError> {
    if source.database_url() == target.database_url() {
        return Err(CopyError::SameDatabase(crate::config::redact_url(
            &source.database_url(),
        )));
    }
    if source.blob_s3().is_none()
        && target.blob_s3().is_none()
        && same_dir(&source.data_dir, &target.data_dir)
    {
        return Err(CopyError::SamePayloads(
            source.data_dir.join("blobs").display().to_string(),
        ));
    }
    let source_keys = keys::load(source)?;
    let target_keys = keys::load(target)?;
    let missing = keys::missing(&source_keys, &target_keys);
    if !missing.is_empty() {
        return Err(CopyError::Keys(missing.join(", ")));
    }

    let from = db::connect(source).await?;
    db::migrate(&from).await?;
    let to = db::connect(target).await?;
    db::migrate(&to).await?;
    let source_blobs = startup::open_blobs(source).await?;
    let target_blobs = startup::open_blobs(target).await?;

    let names = table_names();
    let order = copy_order(&to.conn, &names).await?;
    let unknown: Vec<String> = user_tables(&from.conn)
        .await?
        .into_iter()
        .filter(|t| !names.contains(t))
        .collect();
    if !unknown.is_empty() {
        return Err(CopyError::UnknownTables(unknown.join(", ")));
    }
    for table in &order {
        let rows = count(&to.conn, table).await?;
        if rows > 0 {
            return Err(CopyError::NotEmpty {
                table: table.clone(),
                rows,
            });
        }
    }

    let snapshot = from.conn.begin().await?;
    let fill = to.conn.begin().await?;
    let mut report = Report {
        source_blobs: source_blobs.backend(),
        target_blobs: target_blobs.backend(),
        ..Report::default()
    };
    let mut cx = Copy {
        src: &snapshot,
        dst: &fill,
        source_blobs,
        target_blobs,
        report: &mut report,
    };
    let mut copied = Vec::with_capacity(order.len());
    for table in &order {
        let rows = copy_named(table, &mut cx).await?;
        copied.push((table.clone(), rows));
    }
    if fill.get_database_backend() == DatabaseBackend::Postgres {
        move_sequences_past_copied_ids(&fill).await?;
    }
    fill.commit().await?;
    snapshot.rollback().await?;

    for (table, rows) in &copied {
        let found = count(&to.conn, table).await?;
        if found != *rows {
            return Err(CopyError::Verify {
                table: table.clone(),
                copied: *rows,
                found,
            });
        }
    }
    report.tables = copied;
    Ok(report)
}

fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// One copy in progress: the source snapshot, the target transaction and
/// both payload stores.
struct Copy<'a> {
    src: &'a DatabaseTransaction,
    dst: &'a DatabaseTransaction,
    source_blobs: Arc<dyn BlobStore>,
    target_blobs: Arc<dyn BlobStore>,
    report: &'a mut Report,
}

impl Copy<'_> {
    /// Streams every row of `E` from the source and inserts it into the
    /// target in multi-row statements, letting `rewrite` change each batch
    /// first.
    async fn rows<E>(
        &mut self,
        mut rewrite: impl AsyncFnMut(&mut Self, &mut Vec<E::Model>) -> Result<(), CopyError>,
    ) -> Result<u64, CopyError>
    where
        E: EntityTrait,
        E::Model: IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    {
        // PostgreSQL takes at most 65,535 parameters per statement.
        let per_insert = (30_000 / E::Column::iter().count().max(1)).clamp(1, 500);
        let src = self.src;
        let mut stream = E::find().stream(src).await?;
        let mut batch = Vec::with_capacity(per_insert);
        let mut copied = 0;
        loop {
            let next = stream.try_next().await?;
            let done = next.is_none();
            batch.extend(next);
            if batch.len() == per_insert || (done && !batch.is_empty()) {
                rewrite(self, &mut batch).await?;
                copied += batch.len() as u64;
                let rows = std::mem::take(&mut batch)
                    .into_iter()
                    .map(|m| m.into_active_model().reset_all());
                E::insert_many(rows)
                    .exec_without_returning(self.dst)
                    .await?;
            }
            if done {
                return Ok(copied);
            }
        }
    }

    /// Inbound events, with their payloads moved to the target's store.
    async fn inbound_events(&mut self) -> Result<u64, CopyError> {
        self.rows::<inbound_event::Entity>(async |cx, events| cx.move_payloads(events).await)
            .await
    }

    /// Reads the batch's payloads from the source store, writes them to
    /// the target's and points each row at its new key.
    async fn move_payloads(
        &mut self,
        events: &mut [inbound_event::Model],
    ) -> Result<(), CopyError> {
        let keys: Vec<String> = events.iter().map(|e| e.blob_key.clone()).collect();
        let bodies = self.source_blobs.get_many(&keys).await;
        let mut pending: Vec<(usize, Bytes)> = Vec::new();
        let mut pending_bytes = 0;
        for (i, body) in bodies.into_iter().enumerate() {
            match body {
                Ok(body) => {
                    pending_bytes += body.len();
                    pending.push((i, Bytes::from(body)));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.report.payloads_missing += 1;
                }
                Err(source) => {
                    return Err(CopyError::Payload {
                        key: events[i].blob_key.clone(),
                        event: events[i].id,
                        source,
                    })
                }
            }
            if pending.len() >= PAYLOAD_BATCH || pending_bytes >= PAYLOAD_BATCH_BYTES {
                self.write_payloads(events, std::mem::take(&mut pending))
                    .await?;
                pending_bytes = 0;
            }
        }
        if !pending.is_empty() {
            self.write_payloads(events, pending).await?;
        }
        Ok(())
    }

    async fn write_payloads(
        &mut self,
        events: &mut [inbound_event::Model],
        pending: Vec<(usize, Bytes)>,
    ) -> Result<(), CopyError> {
        let (rows, bodies): (Vec<usize>, Vec<Bytes>) = pending.into_iter().unzip();
        self.report.payloads += bodies.len() as u64;
        self.report.payload_bytes += bodies.iter().map(|b| b.len() as u64).sum::<u64>();
        let keys = self
            .target_blobs
            .put_batch(bodies)
            .await
            .map_err(CopyError::PayloadWrite)?;
        for (row, key) in rows.into_iter().zip(keys) {
            events[row].blob_key = key;
        }
        Ok(())
    }
}

/// `names` ordered so every table comes after the tables it references,
/// by the foreign keys of `db`'s schema.
async fn copy_order(db: &impl ConnectionTrait, names: &[String]) -> Result<Vec<String>, CopyError> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent \
             FROM pg_constraint c WHERE c.contype = 'f' \
             AND c.connamespace = current_schema()::regnamespace"
        }
        _ => {
            "SELECT m.name AS child, p.\"table\" AS parent \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) p WHERE m.type = 'table'"
        }
    };
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?
    {
        let child: String = row.try_get("", "child")?;
        let parent: String = row.try_get("", "parent")?;
        if child != parent && names.contains(&parent) {
            parents.entry(child).or_default().insert(parent);
        }
    }
    topological(names, &parents)
}

/// Orders `names` parents first; the error names the tables of a cycle.
fn topological(
    names: &[String],
    parents: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<String>, CopyError> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::with_capacity(names.len());
    let mut left: Vec<String> = names.to_vec();
    left.sort();
    while !left.is_empty() {
        let (ready, blocked): (Vec<String>, Vec<String>) = left.into_iter().partition(|t| {
            parents
                .get(t)
                .is_none_or(|ps| ps.iter().all(|p| placed.contains(p)))
        });
        if ready.is_empty() {
            return Err(CopyError::Cycle(blocked.join(", ")));
        }
        placed.extend(ready.iter().cloned());
        order.extend(ready);
        left = blocked;
    }
    Ok(order)
}

/// The application's tables in `db` (not the migration ledger nor the
/// session store's).
async fn user_tables(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let mut names = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("", "name")?;
        if name != "seaql_migrations" && !name.starts_with("tower_sessions") {
            names.push(name);
        }
    }
    Ok(names)
}

async fn count(db: &impl ConnectionTrait, table: &str) -> Result<u64, DbErr> {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM \"{table}\""),
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64)
}

/// Moves every serial column's sequence past the largest id copied, so the
/// target's next insert does not collide with a copied row.
async fn move_sequences_past_copied_ids(db: &DatabaseTransaction) -> Result<(), DbErr> {
    let serials = db
        .query_all(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
        ))
        .await?;
    for row in serials {
        let table: String = row.try_get("", "t")?;
        let column: String = row.try_get("", "c")?;
        db.execute(Statement::from_string(
            DatabaseBackend::Postgres,
            format!(
                "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), \
                 COALESCE((SELECT MAX(\"{column}\") FROM \"{table}\"), 0) + 1, false)"
            ),
        ))
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use migration::{Migrator, MigratorTrait};

    #[tokio::test]
    async fn every_table_of_the_schema_is_copied_parents_first() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        let mut schema = user_tables(&db).await.unwrap();
        schema.sort();
        let mut ours = table_names();
        ours.sort();
        assert_eq!(schema, ours, "a table is missing from copy_install's list");

        let order = copy_order(&db, &table_names()).await.unwrap();
        let at = |t: &str| order.iter().position(|x| x == t).unwrap();
        assert!(at("merchants") < at("locations"));
        assert!(at("locations") < at("orders"));
        assert!(at("orders") < at("deliveries"));
        assert!(at("deliveries") < at("delivery_attempts"));
        assert!(at("integrations") < at("installs"));
        assert_eq!(order.len(), ours.len());
    }

    #[test]
    fn a_cycle_is_named() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let mut parents = BTreeMap::new();
        parents.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
        parents.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
        let err = topological(&names, &parents).unwrap_err().to_string();
        assert!(err.contains("a, b"), "{err}");
        parents.remove("b");
        assert_eq!(topological(&names, &parents).unwrap(), ["b", "c", "a"]);
    }
}
