//! The processor's write transaction together with its turn at the write
//! gate (SQLite). Acknowledgements are urgent: between groups of events
//! and between the chunks of a large import, if an acknowledgement is
//! waiting, the writer commits what it has and lets it in before it goes
//! on. A group (up to 32 small events, about 1.5 ms of writes) is the unit:
//! committing after every event whenever one waits would cost a commit, an
//! fsync, per event, and under a steady stream the processor would fall
//! behind; letting a turn run on for a 2 ms slice (usually two groups)
//! kept acknowledgements waiting about twice as long.
use std::time::Instant;

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::MutexGuard;

use crate::domain::inbound::write_gate::WriteGate;
use crate::error::AppResult;

pub(super) struct Writer<'a> {
    db: &'a DatabaseConnection,
    gate: Option<&'a WriteGate>,
    // Dropped in this order: the transaction before the gate.
    txn: Option<DatabaseTransaction>,
    guard: Option<MutexGuard<'a, ()>>,
    /// When the current turn began.
    since: Instant,
}

impl<'a> Writer<'a> {
    /// Waits for the gate (as a background writer) and begins.
    pub(super) async fn open(
        db: &'a DatabaseConnection,
        gate: Option<&'a WriteGate>,
    ) -> AppResult<Self> {
        let mut writer = Writer {
            db,
            gate,
            txn: None,
            guard: None,
            since: Instant::now(),
        };
        writer.reopen().await?;
        Ok(writer)
    }

    /// The open transaction.
    pub(super) fn txn(&self) -> &DatabaseTransaction {
        self.txn
            .as_ref()
            .expect("a writer always holds an open transaction")
    }

    /// Commits and lets an acknowledgement in, if one is waiting.
    pub(super) async fn let_urgent_in(&mut self) -> AppResult<()> {
        if self.gate.is_some_and(WriteGate::urgent_waiting) {
            self.checkpoint().await?;
        }
        Ok(())
    }

    /// Commits what is done (it becomes visible and durable), gives the
    /// gate up for a moment, and goes on in a new transaction.
    pub(super) async fn checkpoint(&mut self) -> AppResult<()> {
        let work = self.since.elapsed();
        if let Some(txn) = self.txn.take() {
            txn.commit().await?;
        }
        tracing::debug!(
            work_us = work.as_micros() as u64,
            turn_us = self.since.elapsed().as_micros() as u64,
            "processor turn"
        );
        if self.guard.take().is_some() {
            tokio::task::yield_now().await;
        }
        self.reopen().await
    }

    /// Commits and gives the gate up.
    pub(super) async fn commit(mut self) -> AppResult<()> {
        if let Some(txn) = self.txn.take() {
            txn.commit().await?;
        }
        Ok(())
    }

    async fn reopen(&mut self) -> AppResult<()> {
        if let Some(gate) = self.gate {
            self.guard = Some(gate.background().await);
        }
        self.since = Instant::now();
        self.txn = Some(self.db.begin().await?);
        Ok(())
    }
}
