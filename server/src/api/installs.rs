//! `/v1/installs`: the install lifecycle for merchants' own automation.
use app::domain::{installs, AppState};
use app::model::{Install, InstallInput, LocationSurfaces};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// A configuration change.
#[derive(Deserialize, ToSchema)]
pub struct ConfigPatch {
    /// Settings to change. Secret fields left out keep their stored value.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// Every install of the merchant.
#[utoipa::path(get, path = "/v1/installs", tag = "installs",
    security(("bearer" = [])),
    responses((status = 200, description = "Installs, oldest first", body = [Install]),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<Install>>, ApiError> {
    Ok(Json(installs::list(&state.db, auth.merchant_id).await?))
}

/// Installs an integration for every location (`location_id` absent) or one.
#[utoipa::path(post, path = "/v1/installs", tag = "installs",
    security(("bearer" = [])),
    request_body = InstallInput,
    responses((status = 201, description = "Installed and enabled", body = Install),
              (status = 400, description = "`config_invalid` with per-field messages, or malformed body", body = ErrorBody),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 404, description = "No such integration or location", body = ErrorBody),
              (status = 409, description = "A replace-mode surface is held, an add-mode cap is reached, or the integration is already installed for that scope", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiJson(input): ApiJson<InstallInput>,
) -> Result<(StatusCode, Json<Install>), ApiError> {
    let inst = installs::install(
        &state.db,
        &state.keys.current(),
        auth.actor(),
        auth.merchant_id,
        input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(inst)))
}

/// One install.
#[utoipa::path(get, path = "/v1/installs/{id}", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    responses((status = 200, description = "The install", body = Install),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Install>, ApiError> {
    Ok(Json(installs::get(&state.db, auth.merchant_id, id).await?))
}

/// Changes settings; secrets not sent keep their value.
#[utoipa::path(patch, path = "/v1/installs/{id}", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    request_body = ConfigPatch,
    responses((status = 200, description = "Updated", body = Install),
              (status = 400, description = "`config_invalid`", body = ErrorBody),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn configure(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ConfigPatch>,
) -> Result<Json<Install>, ApiError> {
    let inst = installs::configure(
        &state.db,
        &state.keys.current(),
        auth.actor(),
        auth.merchant_id,
        id,
        patch.config,
    )
    .await?;
    Ok(Json(inst))
}

/// Uninstalls: the install and its configuration are erased.
#[utoipa::path(delete, path = "/v1/installs/{id}", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    responses((status = 204, description = "Uninstalled"),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn uninstall(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    app::domain::oauth::disconnect::revoke_before_uninstall(&state, auth.merchant_id, id).await;
    installs::uninstall(&state.db, auth.actor(), auth.merchant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables: settings and slots are kept, nothing is dispatched.
#[utoipa::path(post, path = "/v1/installs/{id}/disable", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    responses((status = 200, description = "Disabled", body = Install),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Install>, ApiError> {
    Ok(Json(
        installs::set_enabled(&state.db, auth.actor(), auth.merchant_id, id, false).await?,
    ))
}

/// Re-enables a disabled install.
#[utoipa::path(post, path = "/v1/installs/{id}/enable", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    responses((status = 200, description = "Enabled", body = Install),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn enable(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Install>, ApiError> {
    Ok(Json(
        installs::set_enabled(&state.db, auth.actor(), auth.merchant_id, id, true).await?,
    ))
}

/// Every capability at a location and which integrations fill it.
#[utoipa::path(get, path = "/v1/locations/{id}/surfaces", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 200, description = "Surfaces of the location", body = LocationSurfaces),
              (status = 404, description = "No such location", body = ErrorBody)))]
pub async fn surfaces(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<LocationSurfaces>, ApiError> {
    Ok(Json(
        installs::surfaces(&state.db, auth.merchant_id, id).await?,
    ))
}

/// The merchant's audit log, newest first (at most 200 entries).
#[utoipa::path(get, path = "/v1/audit", tag = "installs",
    security(("bearer" = [])),
    responses((status = 200, description = "Audit entries", body = [app::model::AuditEntry]),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<app::model::AuditEntry>>, ApiError> {
    Ok(Json(
        app::domain::audit::list(&state.db, auth.merchant_id, 200).await?,
    ))
}

/// Which capability a platform token is for.
#[derive(Deserialize, ToSchema)]
pub struct PlatformTokenRequest {
    /// A capability of the integration, e.g. `receipt_qr`.
    pub capability: String,
}

/// A short-lived JWT for the partner of a `platform_shared` install.
#[derive(serde::Serialize, ToSchema)]
pub struct PlatformToken {
    /// HS256 JWT; `kid` names the platform secret; claims `iss`, `aud`
    /// (integration), `sub` (merchant), `location_id`, `capability`, `exp`.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Signs a short-lived JWT for a `platform_shared` install (e.g. SplitEasy).
#[utoipa::path(post, path = "/v1/installs/{id}/platform-token", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    request_body = PlatformTokenRequest,
    responses((status = 200, description = "A token valid for 5 minutes", body = PlatformToken),
              (status = 400, description = "`capability_unsupported`, or not a platform_shared integration", body = ErrorBody),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody),
              (status = 409, description = "`integration_disabled`, or no platform secret yet", body = ErrorBody)))]
pub async fn platform_token(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<PlatformTokenRequest>,
) -> Result<Json<PlatformToken>, ApiError> {
    let (token, claims) = installs::platform_token(
        &state.db,
        &state.keys.current(),
        auth.merchant_id,
        id,
        &req.capability,
    )
    .await?;
    Ok(Json(PlatformToken {
        token,
        expires_at: claims.exp,
    }))
}

/// Options of a webhook-secret rotation.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecretRequest {
    /// How long the previous secret stays valid (default one day, at most 30 days).
    pub overlap_seconds: Option<i64>,
}

/// Creates or rotates the secret a partner signs
/// `POST /v1/integrations/{slug}/webhook` with for this install (hex
/// HMAC-SHA256 of the raw body in `X-{Slug}-Signature`). The secret is shown
/// only in this answer; the previous one keeps working for the overlap.
#[utoipa::path(post, path = "/v1/installs/{id}/webhook-secret", tag = "installs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Install id")),
    request_body = WebhookSecretRequest,
    responses((status = 201, description = "The new secret", body = app::domain::partner_webhooks::RotatedSecret),
              (status = 400, description = "Overlap out of range", body = ErrorBody),
              (status = 404, description = "`integration_not_installed`", body = ErrorBody)))]
pub async fn webhook_secret(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<
    (
        StatusCode,
        Json<app::domain::partner_webhooks::RotatedSecret>,
    ),
    ApiError,
> {
    // The body is optional: empty means the defaults.
    let req: WebhookSecretRequest = if body.iter().all(u8::is_ascii_whitespace) {
        WebhookSecretRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))?
    };
    let overlap = req
        .overlap_seconds
        .unwrap_or(app::domain::partner_webhooks::DEFAULT_OVERLAP_SECS);
    let rotated = app::domain::partner_webhooks::rotate(
        &state.db,
        &state.keys.current(),
        auth.actor(),
        auth.merchant_id,
        id,
        time::Duration::seconds(overlap),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rotated)))
}
