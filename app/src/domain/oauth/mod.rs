//! OAuth connections of `oauth` installs: the Connect flow (authorization
//! code with PKCE S256), tokens sealed at rest, background refresh one
//! process at a time, and Disconnect with revocation. docs/oauth.md tells
//! the whole story.
//!
//! - [`provider`]: the catalog's endpoints merged with the operator's client.
//! - [`flow`]: starting a Connect and finishing it from the callback.
//! - [`tokens`]: sealing, storing and reading the tokens.
//! - [`refresh`]: refreshing before expiry under a database lease.
//! - [`disconnect`]: revoking and forgetting a connection.

pub mod disconnect;
pub mod flow;
pub mod provider;
pub mod refresh;
pub mod tokens;

pub use provider::{ClientSettings, Endpoints, OAuthSettings};

/// Why a call to the provider's token or revocation endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderCallError {
    /// The provider answered with an OAuth error (`invalid_grant`, …): the
    /// same request will not succeed later.
    #[error("the provider refused: {0}")]
    Refused(String),
    /// Network trouble, a timeout or a 5xx: worth trying again later.
    #[error("the provider could not be reached: {0}")]
    Unavailable(String),
}

type TokenError = oauth2::RequestTokenError<
    oauth2::HttpClientError<reqwest::Error>,
    oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>,
>;

impl From<TokenError> for ProviderCallError {
    fn from(err: TokenError) -> Self {
        match err {
            oauth2::RequestTokenError::ServerResponse(resp) => {
                let mut text = resp.error().to_string();
                if let Some(d) = resp.error_description() {
                    text.push_str(": ");
                    text.push_str(d);
                }
                use oauth2::basic::BasicErrorResponseType as E;
                match resp.error() {
                    // The standard refusals will not change on a retry…
                    E::InvalidGrant
                    | E::InvalidClient
                    | E::UnauthorizedClient
                    | E::InvalidScope
                    | E::InvalidRequest
                    | E::UnsupportedGrantType => ProviderCallError::Refused(text),
                    // …others (temporarily_unavailable, server_error) may.
                    E::Extension(_) => ProviderCallError::Unavailable(text),
                }
            }
            oauth2::RequestTokenError::Request(e) => ProviderCallError::Unavailable(e.to_string()),
            oauth2::RequestTokenError::Parse(e, _) => {
                ProviderCallError::Unavailable(format!("unreadable answer: {e}"))
            }
            oauth2::RequestTokenError::Other(e) => ProviderCallError::Unavailable(e),
        }
    }
}
