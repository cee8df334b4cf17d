//! The inbound gateway's HTTP side: the provider routes, the
//! acknowledgement writer and the auth-failure counters. The pipeline's
//! domain (adapters, verification, blob store) is `app::domain::inbound`.
//! Design: docs/inbound.md.

pub mod ack;
pub mod failures;
pub mod routes;
pub mod worker;

use std::sync::Arc;

use app::domain::inbound::blob::BlobStore;
use entity::crypto::SharedKeyRing;
use sea_orm::DatabaseConnection;

/// What the inbound routes share.
#[derive(Clone)]
pub struct Inbound {
    pub db: DatabaseConnection,
    pub keys: Arc<SharedKeyRing>,
    pub blobs: Arc<dyn BlobStore>,
    pub ack: ack::AckWriter,
    pub failures: failures::AuthFailures,
}
