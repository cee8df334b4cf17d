//! SQLite has one writer at a time, and a writer that finds the lock taken
//! sleeps in growing steps (up to 100 ms) before it tries again. Within one
//! process the gateway's writers take this gate instead: a waiter wakes the
//! moment the holder is done. Acknowledgements are urgent; the processor
//! commits early and lets them in whenever one is waiting, so processing
//! never holds an acknowledgement for more than one event's writes.
//! PostgreSQL needs no gate (row locks), so it is optional.
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct WriteGate {
    lock: Mutex<()>,
    urgent: AtomicUsize,
}

impl WriteGate {
    /// Waits for the gate ahead of background writers.
    pub async fn urgent(&self) -> MutexGuard<'_, ()> {
        self.urgent.fetch_add(1, Ordering::SeqCst);
        let guard = self.lock.lock().await;
        self.urgent.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// Waits for the gate as a background writer.
    pub async fn background(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Whether an urgent writer is waiting (a background writer should
    /// commit what it has and let it in).
    pub fn urgent_waiting(&self) -> bool {
        self.urgent.load(Ordering::SeqCst) > 0
    }
}
