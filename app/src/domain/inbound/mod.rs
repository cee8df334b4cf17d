//! The inbound gateway's domain: provider adapters behind one trait,
//! signature checks, canonical validation, and the raw-payload blob store.
//! The HTTP side and the acknowledgement writer live in `server::inbound`.
//! Design: docs/inbound.md.

pub mod adapter;
pub mod adapters;
pub mod allowlist;
pub mod blob;
pub mod canonical;
pub mod connection_cache;
pub mod connections;
pub mod processor;
pub mod read_models;
pub mod registry;
pub mod retention;
pub mod transform;
pub mod verify;
pub mod write_gate;
