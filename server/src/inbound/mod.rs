//! The inbound gateway's HTTP side: the provider routes, the
//! acknowledgement writer and the auth-failure counters. The pipeline's
//! domain (adapters, verification, blob store) is `app::domain::inbound`.
//! Design: docs/inbound.md.

pub mod ack;
pub mod failures;
pub mod order_status;
pub mod partner;
pub mod payments;
pub mod routes;
pub mod worker;

use std::sync::Arc;

use app::domain::inbound::processor::Pipeline;
use entity::crypto::SharedKeyRing;
use sea_orm::DatabaseConnection;

/// What the inbound routes share.
#[derive(Clone)]
pub struct Inbound {
    pub db: DatabaseConnection,
    pub keys: Arc<SharedKeyRing>,
    /// Base of the URLs providers post to (some sign it).
    pub public_url: String,
    /// Raw-payload store and JS transformers.
    pub pipeline: Pipeline,
    pub ack: ack::AckWriter,
    pub failures: failures::AuthFailures,
}
