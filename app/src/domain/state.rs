//! The state shared by every request handler and server function.
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

/// Handed to server functions through Leptos context and to axum handlers
/// as router state.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub leptos_options: LeptosOptions,
    /// The generated OpenAPI document, for the reference page.
    pub openapi: std::sync::Arc<serde_json::Value>,
    /// Keys that seal secrets at rest.
    pub keys: std::sync::Arc<entity::crypto::SharedKeyRing>,
    /// OAuth clients, callback URL and refresh settings.
    pub oauth: std::sync::Arc<super::oauth::OAuthSettings>,
    /// The inbound pipeline: raw-payload store and JS transformers (for
    /// replays and trying scripts).
    pub pipeline: Option<super::inbound::processor::Pipeline>,
    /// The URL policy and delivery engine for outbound requests.
    pub outbound: super::outbound::Outbound,
    /// Where the payment providers are, their timeout, and whether the
    /// simulator may be used.
    pub payments: std::sync::Arc<super::payments::Settings>,
    /// The live board's publisher and subscriptions.
    pub live: super::live::Live,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// The state inside a server function.
    pub fn from_context() -> Result<Self, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from Leptos context");
            crate::error::AppError::Internal
        })
    }
}
