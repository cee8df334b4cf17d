//! Plugboard's server: configuration, database, HTTP APIs and the CLI.
//! `startup::run` is what both the binary and the tests start.

pub mod api;
pub mod bench;
pub mod bench_database;
pub mod bench_deliveries;
pub mod bench_replicas;
pub mod bench_scripts;
pub mod bench_wrk;
pub mod cli;
pub mod config;
pub mod copy_install;
pub mod csrf;
pub mod db;
pub mod delivery;
pub mod fakes;
pub mod inbound;
pub mod keys;
pub mod live;
pub mod oauth;
pub mod scripts_cmd;
pub mod session_store;
pub mod startup;
pub mod stream;
pub mod telemetry;
pub mod views;
pub mod wal;

pub use config::Config;
pub use startup::{run, Application};
