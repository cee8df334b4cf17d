//! The Connect flow: authorization code with PKCE (S256).
//!
//! [`start`] builds the provider's authorization URL and a [`PendingFlow`]
//! that the caller keeps in the merchant's session. The callback looks the
//! flow up by the hash of `state` in that same session and removes it
//! before anything else, so a state is good once, only in the browser
//! session that started it, and for [`FLOW_TTL_SECS`]. [`finish`] then
//! exchanges the code (with the PKCE verifier) and stores the tokens.
use entity::{install, integration};
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::provider::{Provider, ResolveError};
use super::tokens::{self, TokenSet};
use super::ProviderCallError;
use crate::domain::audit::Actor;
use crate::domain::AppState;
use crate::error::{AppError, AppResult};
use crate::model::OAuthOutcome;

/// Session key holding the pending flows.
pub const PENDING_KEY: &str = "oauth_pending";
/// How long a started Connect may take.
pub const FLOW_TTL_SECS: i64 = 600;
/// Pending flows kept per session (several tabs); the oldest goes first.
pub const MAX_PENDING: usize = 5;

/// A Connect in progress, kept in the session until its callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingFlow {
    /// SHA-256 of `state`, hex.
    pub state_hash: String,
    /// The PKCE verifier, sealed.
    verifier: String,
    pub install_id: Uuid,
    pub merchant_id: Uuid,
    pub user_id: Uuid,
    pub integration: String,
    /// Unix seconds.
    pub started_at: i64,
}

impl PendingFlow {
    /// Whether the flow is older than [`FLOW_TTL_SECS`].
    pub fn expired(&self, now_unix: i64) -> bool {
        now_unix - self.started_at > FLOW_TTL_SECS
    }
}

/// The hash flows are looked up by.
pub fn hash_state(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// Where to send the browser, and what to remember until it comes back.
pub struct Started {
    pub authorize_url: String,
    pub flow: PendingFlow,
}

/// What the provider sent back to the callback.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Starts a Connect (or Reconnect) of `install_id` for the signed-in user.
pub async fn start(
    state: &AppState,
    merchant_id: Uuid,
    user_id: Uuid,
    install_id: Uuid,
) -> AppResult<Started> {
    let (inst, integ) = load(state, merchant_id, install_id).await?;
    let provider = Provider::resolve(&state.oauth, &integ)?;
    let client = provider.client(&state.oauth.redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new));
    for (k, v) in &provider.authorize_params {
        request = request.add_extra_param(k.clone(), v.clone());
    }
    let (url, csrf) = request.url();
    let keys = state.keys.current();
    Ok(Started {
        authorize_url: url.to_string(),
        flow: PendingFlow {
            state_hash: hash_state(csrf.secret()),
            verifier: keys.seal(verifier.secret().as_bytes()),
            install_id: inst.id,
            merchant_id,
            user_id,
            integration: integ.slug,
            started_at: entity::now().unix_timestamp(),
        },
    })
}

/// Finishes the flow the callback matched: exchanges the code and stores
/// the tokens. Never fails outright; the outcome is shown to the merchant.
pub async fn finish(state: &AppState, flow: &PendingFlow, params: &CallbackParams) -> OAuthOutcome {
    if flow.expired(entity::now().unix_timestamp()) {
        return OAuthOutcome::Expired;
    }
    if let Some(error) = &params.error {
        tracing::info!(install = %flow.install_id, error, "OAuth authorization not granted");
        return if error == "access_denied" {
            OAuthOutcome::Denied
        } else {
            OAuthOutcome::ProviderError
        };
    }
    let Some(code) = params.code.clone().filter(|c| !c.is_empty()) else {
        return OAuthOutcome::ProviderError;
    };
    let (_, integ) = match load(state, flow.merchant_id, flow.install_id).await {
        Ok(found) => found,
        Err(AppError::IntegrationNotInstalled(_)) => return OAuthOutcome::Gone,
        Err(_) => return OAuthOutcome::ExchangeFailed,
    };
    let provider = match Provider::resolve(&state.oauth, &integ) {
        Ok(p) => p,
        Err(ResolveError::NotConfigured(_)) => return OAuthOutcome::NotConfigured,
        Err(ResolveError::NotOAuth(_)) => return OAuthOutcome::ProviderError,
    };
    match exchange(state, &provider, flow, code).await {
        Ok(tokens) => {
            let keys = state.keys.current();
            match tokens::save_connected(
                &state.db,
                &keys,
                Actor::User(flow.user_id),
                flow.merchant_id,
                flow.install_id,
                &tokens,
                &provider.scopes,
            )
            .await
            {
                Ok(()) => OAuthOutcome::Connected,
                Err(AppError::IntegrationNotInstalled(_)) => OAuthOutcome::Gone,
                Err(e) => {
                    tracing::error!(install = %flow.install_id, error = %e, "could not store OAuth tokens");
                    OAuthOutcome::ExchangeFailed
                }
            }
        }
        Err(e) => {
            tracing::warn!(install = %flow.install_id, error = %e, "OAuth code exchange failed");
            OAuthOutcome::ExchangeFailed
        }
    }
}

async fn exchange(
    state: &AppState,
    provider: &Provider,
    flow: &PendingFlow,
    code: String,
) -> Result<TokenSet, ProviderCallError> {
    let client = provider
        .client(&state.oauth.redirect_uri)
        .map_err(|e| ProviderCallError::Unavailable(e.to_string()))?;
    let keys = state.keys.current();
    let verifier = tokens::open(&keys, &flow.verifier)
        .map_err(|_| ProviderCallError::Unavailable("cannot open the PKCE verifier".into()))?;
    let answer = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&state.oauth.http)
        .await?;
    Ok(TokenSet::from(&answer))
}

/// The merchant's install and its integration.
pub async fn load(
    state: &AppState,
    merchant_id: Uuid,
    install_id: Uuid,
) -> AppResult<(install::Model, integration::Model)> {
    let inst = install::Entity::find_for_merchant(&state.db, merchant_id, install_id)
        .await?
        .ok_or_else(|| {
            AppError::IntegrationNotInstalled("No such install for this merchant.".into())
        })?;
    let integ = integration::Entity::find_by_id(inst.integration_slug.clone())
        .one(&state.db)
        .await?
        .ok_or(AppError::Internal)?;
    Ok((inst, integ))
}
