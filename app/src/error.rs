//! The one error type of the app layer: serialisable, so server functions
//! return it to the browser typed, and mapped by the server to the public
//! envelope `{"error":{"code","message"}}`. Internals never appear in it.
use serde::{Deserialize, Serialize};

/// A problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Errors the UI and the API report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The input is malformed; `fields` says which parts.
    #[error("{message}")]
    InvalidRequest {
        message: String,
        fields: Vec<FieldError>,
    },
    /// An install's configuration does not match the integration's schema.
    #[error("{message}")]
    ConfigInvalid {
        message: String,
        fields: Vec<FieldError>,
    },
    /// The merchant has no such install.
    #[error("{0}")]
    IntegrationNotInstalled(String),
    /// The install exists but is disabled.
    #[error("{0}")]
    IntegrationDisabled(String),
    /// The integration does not provide the requested capability.
    #[error("{0}")]
    CapabilityUnsupported(String),
    /// Not signed in, or credentials wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource for this tenant.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with existing state.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("{0}")]
    RateLimited(String),
    /// An inbound webhook's signature (or API key) did not verify.
    #[error("{0}")]
    InvalidSignature(String),
    /// Temporarily unable to accept the request; the sender should retry.
    #[error("{0}")]
    Unavailable(String),
    /// No active JS transformer for a (provider, topic) that needs one;
    /// answered 500 so the vendor retries once a script is deployed.
    #[error("{0}")]
    NoActiveScript(String),
    /// The JS transformer threw, ran out of time or memory, or returned a
    /// shape the contract does not allow; 500 so the vendor retries.
    #[error("{0}")]
    TransformFailed(String),
    /// An optimistic-concurrency check failed: the caller's version is old.
    #[error("{0}")]
    StaleVersion(String),
    /// The state machine does not allow the change.
    #[error("{0}")]
    InvalidTransition(String),
    /// No payment provider could create the charge (each one's failure is
    /// in the message); nothing was written.
    #[error("{0}")]
    PaymentProvider(String),
    /// Our fault; details are in the server log, not here.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request never reached the server function (network, decoding).
    #[error("Could not reach Plugboard: {0}")]
    Transport(String),
}

impl AppError {
    /// An invalid request about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::InvalidRequest {
            message: message.clone(),
            fields: vec![FieldError {
                field: field.to_string(),
                message,
            }],
        }
    }

    /// An invalid request, not about one field.
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::InvalidRequest {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// The stable code of the public API envelope.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidRequest { .. } => "invalid_request",
            AppError::ConfigInvalid { .. } => "config_invalid",
            AppError::IntegrationNotInstalled(_) => "integration_not_installed",
            AppError::IntegrationDisabled(_) => "integration_disabled",
            AppError::CapabilityUnsupported(_) => "capability_unsupported",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::RateLimited(_) => "rate_limited",
            AppError::InvalidSignature(_) => "invalid_signature",
            AppError::Unavailable(_) => "unavailable",
            AppError::NoActiveScript(_) => "no_active_script",
            AppError::TransformFailed(_) => "transform_failed",
            AppError::StaleVersion(_) => "stale_version",
            AppError::InvalidTransition(_) => "invalid_transition",
            AppError::PaymentProvider(_) => "payment_provider_error",
            AppError::Internal => "internal_error",
            AppError::Transport(_) => "transport_error",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(&self) -> u16 {
        match self {
            AppError::InvalidRequest { .. } | AppError::ConfigInvalid { .. } => 400,
            AppError::IntegrationNotInstalled(_) => 404,
            AppError::IntegrationDisabled(_) => 409,
            AppError::CapabilityUnsupported(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::RateLimited(_) => 429,
            AppError::InvalidSignature(_) => 401,
            AppError::Unavailable(_) => 503,
            AppError::NoActiveScript(_) | AppError::TransformFailed(_) => 500,
            AppError::StaleVersion(_) | AppError::InvalidTransition(_) => 409,
            AppError::Internal => 500,
            AppError::Transport(_) | AppError::PaymentProvider(_) => 502,
        }
    }

    /// The message for one field, if the error names it.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            AppError::InvalidRequest { fields, .. } | AppError::ConfigInvalid { fields, .. } => {
                fields
                    .iter()
                    .find(|f| f.field == name)
                    .map(|f| f.message.clone())
            }
            _ => None,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

/// Shorthand for results of the app layer.
pub type AppResult<T> = Result<T, AppError>;
