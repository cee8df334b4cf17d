//! Server functions: the browser's way into the domain. Each one checks who
//! is signed in, then calls the domain with the tenant.

pub mod auth;
pub mod catalog;
pub mod inbound;
pub mod installs;
pub mod locations;
pub mod outbound;
pub mod payments;
pub mod reference;
pub mod support;
pub mod tokens;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// Parses an id sent by a form.
#[cfg(feature = "ssr")]
pub(crate) fn parse_id(raw: &str, what: &str) -> Result<uuid::Uuid, AppError> {
    raw.trim()
        .parse()
        .map_err(|_| AppError::NotFound(format!("No such {what}.")))
}

/// Gives a server function's HTTP answer the status of its error, so a
/// client mistake is a 4xx on the wire too, never a 500.
#[cfg(feature = "ssr")]
pub(crate) fn finish<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if let Some(resp) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(code) = axum::http::StatusCode::from_u16(e.status()) {
                resp.set_status(code);
            }
        }
    }
    result
}
