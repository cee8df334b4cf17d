//! Installs from the dashboard.
use std::collections::HashMap;

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Install, LocationSurfaces};

/// Installs an integration; `location_id` empty means every location.
/// Config fields arrive as `config[name]=value`.
#[server(endpoint = "install")]
pub async fn install_integration(
    integration: String,
    location_id: String,
    #[server(default)] config: HashMap<String, String>,
) -> Result<Install, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let location_id = match location_id.trim() {
                "" => None,
                raw => Some(super::parse_id(raw, "location")?),
            };
            let config = serde_json::Value::Object(
                config
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            );
            crate::domain::installs::install(
                &state.db,
                &state.keys.current(),
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                crate::model::InstallInput {
                    integration,
                    location_id,
                    config,
                },
            )
            .await
        }
        .await,
    )
}

/// Changes an install's settings; blank secret fields keep their value.
#[server(endpoint = "configure_install")]
pub async fn configure_install(
    id: String,
    #[server(default)] config: HashMap<String, String>,
) -> Result<Install, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "install")?;
            let config = serde_json::Value::Object(
                config
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            );
            crate::domain::installs::configure(
                &state.db,
                &state.keys.current(),
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                id,
                config,
            )
            .await
        }
        .await,
    )
}

/// Disables (`enabled=false`) or re-enables (`enabled=true`) an install.
#[server(endpoint = "set_install_enabled")]
pub async fn set_install_enabled(id: String, enabled: String) -> Result<Install, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "install")?;
            crate::domain::installs::set_enabled(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                id,
                enabled == "true",
            )
            .await
        }
        .await,
    )
}

/// Uninstalls; the settings are erased.
#[server(endpoint = "uninstall")]
pub async fn uninstall(id: String) -> Result<(), AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "install")?;
            crate::domain::oauth::disconnect::revoke_before_uninstall(&state, merchant, id).await;
            crate::domain::installs::uninstall(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                id,
            )
            .await
        }
        .await,
    )
}

/// Every surface of a location and who fills it.
#[server(endpoint = "surfaces")]
pub async fn get_surfaces(location_id: String) -> Result<LocationSurfaces, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&location_id, "location")?;
            crate::domain::installs::surfaces(&state.db, merchant, id).await
        }
        .await,
    )
}

/// The merchant's locations and installs, for the install panel in one call.
#[server(endpoint = "install_panel")]
pub async fn install_panel_data() -> Result<(Vec<crate::model::Location>, Vec<Install>), AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let locations = crate::domain::locations::list(&state.db, merchant).await?;
            let installs = crate::domain::installs::list(&state.db, merchant).await?;
            Ok((locations, installs))
        }
        .await,
    )
}

/// Disconnects an OAuth install (tokens revoked where the provider can).
#[server(endpoint = "disconnect_install")]
pub async fn disconnect_install(id: String) -> Result<bool, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "install")?;
            crate::domain::oauth::disconnect::disconnect(
                &state,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                id,
            )
            .await
        }
        .await,
    )
}

/// Refreshes an OAuth install's tokens now; answers the outcome
/// (`refreshed`, `skipped`, `needs_reconnect`, `will_retry`).
#[server(endpoint = "refresh_install")]
pub async fn refresh_install(id: String) -> Result<String, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "install")?;
            let outcome = crate::domain::oauth::refresh::refresh_now(&state, merchant, id).await?;
            Ok(outcome.as_str().to_string())
        }
        .await,
    )
}
