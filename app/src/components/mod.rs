//! Pieces several pages use.
pub mod auth;
pub mod catalog_table;
pub mod form;
pub mod install_panel;
pub mod nav;
pub mod refresh;
