//! One integration-test binary: each test starts the real server on
//! 127.0.0.1:0 against its own database and drives it over HTTP.
mod auth_server;
mod backlog;
mod engines;
mod helpers;
mod inbound;
mod receiver;

mod accounts;
mod catalog;
mod cli;
mod copy_install;
mod dispatch_crash;
mod event_stream;
mod health;
mod installs;
mod locations;
mod oauth;
mod orders;
mod pages;
mod partner_webhooks;
mod payload_store;
mod payments;
mod platform;
mod replicas;
mod retention;
mod scripts;
mod support;
mod tokens;
mod views;
mod webhooks;
