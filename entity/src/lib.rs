//! Database entities of Plugboard.
//!
//! Every tenant-owned table carries `merchant_id`; the query helpers on each
//! entity take the merchant explicitly so that no caller can forget the tenant.

pub mod adapter_script;
pub mod api_token;
pub mod audit_log;
pub mod capability;
pub mod catalog_item;
pub mod catalog_variant;
pub mod category;
pub mod crypto;
pub mod delivery;
pub mod delivery_attempt;
pub mod inbound_auth_failure;
pub mod inbound_event;
pub mod inbound_idempotency;
pub mod install;
pub mod install_slot;
pub mod install_webhook_secret;
pub mod integration;
pub mod integration_capability;
pub mod item_mapping;
pub mod location;
pub mod location_external_id;
pub mod login_attempt;
pub mod merchant;
pub mod oauth_connection;
pub mod order;
pub mod order_status_history;
pub mod outbox;
pub mod outbox_cursor;
pub mod payment;
pub mod platform_secret;
pub mod provider_connection;
pub mod receipt_attachment;
pub mod refund;
pub mod store_mapping;
pub mod store_status;
pub mod user;
pub mod variant_mapping;
pub mod webhook_endpoint;

pub use sea_orm;

/// Current UTC time, the one clock every entity timestamp uses.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
