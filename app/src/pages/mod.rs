//! One module per page.
pub mod api_docs;
pub mod auth;
pub mod board;
pub mod cashier;
pub mod catalog;
pub mod home;
pub mod inbound;
pub mod integration;
pub mod location_catalog;
pub mod locations;
pub mod not_found;
pub mod orders;
pub mod settings;
pub mod support;
pub mod surfaces;
pub mod webhooks;
