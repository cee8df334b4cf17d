//! Group commit for request paths (order dispatch and the record of its
//! first attempt): writes from concurrent callers share one transaction,
//! each under a savepoint of its own so one caller's error stays its own,
//! and every caller hears back only once that transaction has committed.
//! While one group commits, the next gathers; under load a commit carries
//! many callers' writes, and an idle caller waits for nobody.
//!
//! SQLite has one writer (one group at a time, at the write gate, ahead of
//! background work); PostgreSQL runs a few groups at once.
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::inbound::write_gate::WriteGate;
use crate::error::{AppError, AppResult};

/// Callers' writes in one transaction, at most.
const MAX_GROUP: usize = 128;
/// Groups committing at once on PostgreSQL.
const POSTGRES_WRITERS: usize = 4;
/// Writes waiting for a group, at most (callers beyond wait to queue).
const QUEUE: usize = 4096;

/// One caller's write, run inside a group's transaction.
trait Job: Send {
    /// Runs the write under its own savepoint; answers what to tell the
    /// caller once the group's commit is known, and whether the savepoint
    /// ended cleanly (if not, the transaction's state is unknown and the
    /// whole group must be rolled back).
    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Ran>;
    /// The group could not even begin.
    fn refuse(self: Box<Self>, error: AppError);
}

/// A job that ran: its reply, and whether its savepoint ended cleanly.
type Ran = (Box<dyn Reply>, bool);

/// What a caller hears after the commit.
trait Reply: Send {
    fn send(self: Box<Self>, committed: bool);
}

struct Pending<F, R> {
    work: F,
    to: oneshot::Sender<AppResult<R>>,
}

struct Answer<R> {
    result: AppResult<R>,
    to: oneshot::Sender<AppResult<R>>,
}

impl<F, R> Job for Pending<F, R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, AppResult<R>> + Send + 'static,
{
    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Ran> {
        let Pending { work, to } = *self;
        Box::pin(async move {
            let (result, clean) = match txn.begin().await {
                Ok(savepoint) => {
                    let result = work(&savepoint).await;
                    let ended = match &result {
                        Ok(_) => savepoint.commit().await,
                        Err(_) => savepoint.rollback().await,
                    };
                    match ended {
                        Ok(()) => (result, true),
                        Err(e) => (Err(AppError::from(e)), false),
                    }
                }
                Err(e) => (Err(AppError::from(e)), false),
            };
            (Box::new(Answer { result, to }) as Box<dyn Reply>, clean)
        })
    }

    fn refuse(self: Box<Self>, error: AppError) {
        let _ = self.to.send(Err(error));
    }
}

impl<R: Send> Reply for Answer<R> {
    fn send(self: Box<Self>, committed: bool) {
        let answer = match self.result {
            Ok(_) if !committed => Err(AppError::Internal),
            result => result,
        };
        let _ = self.to.send(answer);
    }
}

/// The handle callers write through; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl GroupCommit {
    /// Starts the writers on `db` (one, at `gate`, on SQLite).
    pub fn start(db: DatabaseConnection, gate: Option<Arc<WriteGate>>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let writers = if gate.is_some() { 1 } else { POSTGRES_WRITERS };
        for _ in 0..writers {
            tokio::spawn(writer(db.clone(), gate.clone(), queue.clone()));
        }
        GroupCommit { jobs }
    }

    /// Runs `work` in the next group's transaction; answers its result once
    /// that transaction has committed (an error of `work` undoes only its
    /// own writes).
    pub async fn write<R, F>(&self, work: F) -> AppResult<R>
    where
        R: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, AppResult<R>> + Send + 'static,
    {
        let (to, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(Pending { work, to }))
            .await
            .map_err(|_| AppError::Internal)?;
        answer.await.map_err(|_| AppError::Internal)?
    }
}

/// Gathers what is waiting (up to [`MAX_GROUP`]), writes it in one
/// transaction and answers every caller after the commit.
async fn writer(
    db: DatabaseConnection,
    gate: Option<Arc<WriteGate>>,
    queue: Arc<Mutex<mpsc::Receiver<Box<dyn Job>>>>,
) {
    loop {
        let mut group = Vec::new();
        {
            let mut queue = queue.lock().await;
            match queue.recv().await {
                Some(job) => group.push(job),
                None => return,
            }
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
        }
        let _turn = match &gate {
            Some(g) => Some(g.urgent().await),
            None => None,
        };
        let txn = match super::begin_write(&db).await {
            Ok(txn) => txn,
            Err(e) => {
                tracing::error!(error = %e, writes = group.len(), "a write group could not begin");
                for job in group {
                    job.refuse(AppError::Internal);
                }
                continue;
            }
        };
        let mut replies = Vec::with_capacity(group.len());
        let mut clean = true;
        for job in group {
            // A panicking job drops its caller's answer (the caller hears
            // Internal); the writer lives on, and the group is undone.
            match AssertUnwindSafe(job.run(&txn)).catch_unwind().await {
                Ok((reply, ok)) => {
                    clean &= ok;
                    replies.push(reply);
                }
                Err(_) => {
                    tracing::error!("a write panicked; its group is rolled back");
                    clean = false;
                }
            }
        }
        let committed = if clean {
            match txn.commit().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, writes = replies.len(), "a write group did not commit");
                    false
                }
            }
        } else {
            // A savepoint that did not end cleanly leaves the transaction
            // in a state nobody can vouch for: nothing of it is kept.
            tracing::error!(
                writes = replies.len(),
                "a savepoint did not end cleanly; the write group is rolled back"
            );
            let _ = txn.rollback().await;
            false
        };
        for reply in replies {
            reply.send(committed);
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database};

    use super::*;

    async fn insert(txn: &DatabaseTransaction, x: i64) -> AppResult<()> {
        txn.execute_unprepared(&format!("INSERT INTO t (x) VALUES ({x})"))
            .await?;
        Ok(())
    }

    async fn rows(db: &DatabaseConnection) -> Vec<i64> {
        use sea_orm::{FromQueryResult, JsonValue, Statement};
        JsonValue::find_by_statement(Statement::from_string(
            db.get_database_backend(),
            "SELECT x FROM t ORDER BY x",
        ))
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| r["x"].as_i64().unwrap())
        .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_callers_error_or_panic_stays_its_own_and_the_writer_lives_on() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
        let db = Database::connect(url).await.unwrap();
        db.execute_unprepared("CREATE TABLE outbox_cursors (last_id INTEGER)")
            .await
            .unwrap();
        db.execute_unprepared("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let writes = GroupCommit::start(db.clone(), Some(Arc::new(WriteGate::default())));

        let (a, b, c) = tokio::join!(
            writes.write(|txn| Box::pin(insert(txn, 1))),
            writes.write(|txn| Box::pin(async move {
                insert(txn, 2).await?;
                Err::<(), _>(AppError::Conflict("refused".into()))
            })),
            writes.write(|txn| Box::pin(insert(txn, 3))),
        );
        assert!(a.is_ok() && c.is_ok(), "{a:?} {c:?}");
        assert!(matches!(b, Err(AppError::Conflict(_))), "{b:?}");
        assert_eq!(rows(&db).await, [1, 3], "the refused write is undone alone");

        let panicked = writes
            .write(|txn| {
                Box::pin(async move {
                    insert(txn, 4).await?;
                    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
                        panic!("a bug in a write");
                    }
                    Ok(())
                })
            })
            .await;
        assert!(matches!(panicked, Err(AppError::Internal)), "{panicked:?}");
        writes
            .write(|txn| Box::pin(insert(txn, 5)))
            .await
            .expect("the writer outlives a panic");
        assert_eq!(rows(&db).await, [1, 3, 5], "the panicked write is not kept");
    }
}
