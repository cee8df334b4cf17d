//! The outbound side: partner webhook endpoints, how deliveries are signed,
//! the durable delivery queue and what a receiver's answer means. The
//! sending itself (HTTP, the worker loop) is the server's.
pub mod deliveries;
pub mod endpoints;
pub mod outcome;
pub mod signing;
pub mod url_policy;

use std::future::Future;
use std::pin::Pin;

use crate::error::AppResult;

/// What one attempt made of a delivery: the delivery as it is now and how
/// the attempt ended.
pub type Attempted = (entity::delivery::Model, outcome::Outcome);

/// A boxed attempt, so the server's engine can sit behind [`Sender`].
pub type AttemptFuture<'a> =
    Pin<Box<dyn Future<Output = AppResult<Option<Attempted>>> + Send + 'a>>;

/// The server's delivery engine as the domain sees it.
pub trait Sender: Send + Sync {
    /// Claims and attempts one queued delivery now; `None` when a worker
    /// holds it or an earlier delivery of the same order must go first.
    fn attempt_now(&self, d: entity::delivery::Model) -> AttemptFuture<'_>;
    /// Tells the workers something new is due.
    fn wake(&self);
}

/// The outbound side's share of the application state.
#[derive(Clone, Default)]
pub struct Outbound {
    /// Where outbound URLs may point.
    pub policy: url_policy::UrlPolicy,
    /// The engine, when this process runs one.
    pub sender: Option<std::sync::Arc<dyn Sender>>,
    /// Group commit for order dispatch (the API's path), when this process
    /// serves it; without it each dispatch commits on its own.
    pub writes: Option<crate::domain::group_commit::GroupCommit>,
}

impl Outbound {
    /// Tells this process's workers that something new is due (a resend, a
    /// queued delivery); without an engine the workers' poll finds it.
    pub fn wake(&self) {
        if let Some(sender) = &self.sender {
            sender.wake();
        }
    }
}
