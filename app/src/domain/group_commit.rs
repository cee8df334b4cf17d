//! Group commit for request paths (order dispatch and the record of its
//! first attempt): writes from concurrent callers share one transaction,
//! each under a savepoint of its own so one caller's error stays its own,
//! and every caller hears back only once that transaction has committed.
//! While one group commits, the next gathers; under load a commit carries
//! many callers' writes, and an idle caller waits for nobody.
//!
//! SQLite has one writer (one group at a time, at the write gate, ahead of
//! background work); PostgreSQL runs a few groups at once.
use std::sync::Arc;

use futures::future::BoxFuture;
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
    /// caller once the group's commit is known.
    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Box<dyn Reply>>;
    /// The group could not even begin.
    fn refuse(self: Box<Self>, error: AppError);
}

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
    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Box<dyn Reply>> {
        let Pending { work, to } = *self;
        Box::pin(async move {
            let result = match txn.begin().await {
                Ok(savepoint) => {
                    let result = work(&savepoint).await;
                    let ended = match &result {
                        Ok(_) => savepoint.commit().await,
                        Err(_) => savepoint.rollback().await,
                    };
                    match ended {
                        Ok(()) => result,
                        Err(e) => Err(AppError::from(e)),
                    }
                }
                Err(e) => Err(AppError::from(e)),
            };
            Box::new(Answer { result, to }) as Box<dyn Reply>
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
        for job in group {
            replies.push(job.run(&txn).await);
        }
        let committed = match txn.commit().await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, writes = replies.len(), "a write group did not commit");
                false
            }
        };
        for reply in replies {
            reply.send(committed);
        }
    }
}
