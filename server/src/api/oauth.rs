//! `/v1/installs/{id}/oauth/*`: refresh and disconnect an OAuth install.
//! Connecting needs the merchant in a browser (consent at the provider), so
//! it starts from the dashboard's Connect button, not from here.
use app::domain::oauth::{disconnect, refresh};
use app::domain::{installs, AppState};
use app::model::Install;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ApiPath, ErrorBody};

/// What a refresh came to.
#[derive(Serialize, ToSchema)]
pub struct RefreshResult {
    /// `refreshed`; `skipped` (another process refreshed it a moment ago);
    /// `needs_reconnect` (the provider refused: reconnect in the dashboard);
    /// `will_retry` (the provider could not be reached; retried with back-off).
    pub outcome: String,
    /// Why, when it did not succeed.
    pub reason: Option<String>,
    pub install: Install,
}

/// Refreshes the install's OAuth tokens now.
#[utoipa::path(post, path = "/v1/installs/{id}/oauth/refresh", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    responses((status = 200, description = "The outcome and the install after it", body = RefreshResult),
              (status = 400, description = "Not connected, needs reconnecting, or no refresh token", body = ErrorBody),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RefreshResult>, ApiError> {
    let outcome = refresh::refresh_now(&state, auth.merchant_id, id).await?;
    let reason = match &outcome {
        refresh::RefreshOutcome::NeedsReconnect(r) | refresh::RefreshOutcome::WillRetry(r) => {
            Some(r.clone())
        }
        _ => None,
    };
    Ok(Json(RefreshResult {
        outcome: outcome.as_str().to_string(),
        reason,
        install: installs::get(&state.db, auth.merchant_id, id).await?,
    }))
}

/// What a disconnect came to.
#[derive(Serialize, ToSchema)]
pub struct DisconnectResult {
    /// Whether the provider confirmed revoking the tokens (false when it
    /// has no revocation endpoint or could not be reached; the tokens are
    /// deleted either way).
    pub revoked: bool,
    pub install: Install,
}

/// Disconnects: revokes the tokens at the provider where supported and
/// deletes them; the install stays, `not_connected`.
#[utoipa::path(post, path = "/v1/installs/{id}/oauth/disconnect", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    responses((status = 200, description = "Disconnected", body = DisconnectResult),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn disconnect(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DisconnectResult>, ApiError> {
    let revoked = disconnect::disconnect(&state, auth.actor(), auth.merchant_id, id).await?;
    Ok(Json(DisconnectResult {
        revoked,
        install: installs::get(&state.db, auth.merchant_id, id).await?,
    }))
}
