//! The support console's server functions: support agents only.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{
    AuthFailureCount, ItemMapping, LocationCatalog, ReplayReport, ScriptTrial, ScriptVersion,
    StoreMapping, SupportEvent, SupportEventDetail,
};

#[cfg(feature = "ssr")]
fn pipeline(
    state: &crate::domain::AppState,
) -> Result<crate::domain::inbound::processor::Pipeline, AppError> {
    state.pipeline.clone().ok_or_else(|| {
        tracing::error!("inbound pipeline missing from AppState");
        AppError::Internal
    })
}

#[cfg(feature = "ssr")]
#[allow(clippy::too_many_arguments)]
fn filter(
    status: Option<String>,
    class: Option<String>,
    provider: Option<String>,
    merchant: Option<String>,
    location: Option<String>,
    since: Option<String>,
    until: Option<String>,
) -> crate::domain::support::FilterInput {
    crate::domain::support::FilterInput {
        status,
        class,
        provider,
        merchant,
        location,
        since,
        until,
    }
}

/// Inbound events across merchants (failed ones unless `status` is given).
#[server(endpoint = "support_events")]
#[allow(clippy::too_many_arguments)]
pub async fn support_events(
    status: Option<String>,
    class: Option<String>,
    provider: Option<String>,
    merchant: Option<String>,
    location: Option<String>,
    since: Option<String>,
    until: Option<String>,
) -> Result<Vec<SupportEvent>, AppError> {
    super::finish(
        async move {
            let (state, _) = crate::session::support_context().await?;
            let f = filter(status, class, provider, merchant, location, since, until);
            crate::domain::support::list(&state.db, &f, 200).await
        }
        .await,
    )
}

/// One event in full.
#[server(endpoint = "load_support_event")]
pub async fn load_support_event(id: String) -> Result<SupportEventDetail, AppError> {
    super::finish(
        async move {
            let (state, _) = crate::session::support_context().await?;
            let id = super::parse_id(&id, "inbound event")?;
            crate::domain::support::detail(&state.db, &pipeline(&state)?, id).await
        }
        .await,
    )
}

/// Runs one event through the pipeline again.
#[server(endpoint = "support_replay")]
pub async fn support_replay(id: String) -> Result<SupportEvent, AppError> {
    super::finish(
        async move {
            let (state, me) = crate::session::support_context().await?;
            let id = super::parse_id(&id, "inbound event")?;
            let actor = crate::domain::audit::Actor::User(me.user_id);
            crate::domain::support::replay(&state.db, &pipeline(&state)?, actor, id).await
        }
        .await,
    )
}

/// Replays every failed event matching the filter.
#[server(endpoint = "support_replay_matching")]
#[allow(clippy::too_many_arguments)]
pub async fn support_replay_matching(
    class: Option<String>,
    provider: Option<String>,
    merchant: Option<String>,
    location: Option<String>,
    since: Option<String>,
    until: Option<String>,
) -> Result<ReplayReport, AppError> {
    super::finish(
        async move {
            let (state, me) = crate::session::support_context().await?;
            let f = filter(None, class, provider, merchant, location, since, until);
            let actor = crate::domain::audit::Actor::User(me.user_id);
            crate::domain::support::replay_matching(&state.db, &pipeline(&state)?, actor, &f).await
        }
        .await,
    )
}

/// Maps the event's provider store to one of its merchant's locations.
#[server(endpoint = "support_map_store")]
pub async fn support_map_store(
    event_id: String,
    provider_store_id: String,
    location_id: String,
) -> Result<StoreMapping, AppError> {
    super::finish(
        async move {
            let (state, me) = crate::session::support_context().await?;
            let event = super::parse_id(&event_id, "inbound event")?;
            let location = location_id.trim().parse().map_err(|_| {
                AppError::field("location_id", "Choose one of the merchant's locations.")
            })?;
            let actor = crate::domain::audit::Actor::User(me.user_id);
            crate::domain::support::map_store(&state.db, actor, event, &provider_store_id, location)
                .await
        }
        .await,
    )
}

/// Maps the event's provider SKU to a new item of its merchant.
#[server(endpoint = "support_map_sku")]
pub async fn support_map_sku(event_id: String, sku: String) -> Result<ItemMapping, AppError> {
    super::finish(
        async move {
            let (state, me) = crate::session::support_context().await?;
            let event = super::parse_id(&event_id, "inbound event")?;
            let actor = crate::domain::audit::Actor::User(me.user_id);
            crate::domain::support::map_sku(&state.db, actor, event, &sku).await
        }
        .await,
    )
}

/// Any merchant's location catalog, with the location's name.
#[server(endpoint = "support_location_catalog")]
pub async fn support_location_catalog(id: String) -> Result<(String, LocationCatalog), AppError> {
    super::finish(
        async move {
            let (state, _) = crate::session::support_context().await?;
            let id = super::parse_id(&id, "location")?;
            crate::domain::support::location_catalog(&state.db, id).await
        }
        .await,
    )
}

/// Refused deliveries of the last day.
#[server(endpoint = "support_auth_failures")]
pub async fn support_auth_failures() -> Result<Vec<AuthFailureCount>, AppError> {
    super::finish(
        async move {
            let (state, _) = crate::session::support_context().await?;
            crate::domain::support::auth_failures(&state.db).await
        }
        .await,
    )
}

/// Every stored JS transformer version.
#[server(endpoint = "support_scripts")]
pub async fn support_scripts() -> Result<Vec<ScriptVersion>, AppError> {
    super::finish(
        async move {
            let (state, _) = crate::session::support_context().await?;
            crate::domain::support::scripts(&state.db).await
        }
        .await,
    )
}

/// Runs a script version on a stored delivery, without activating it.
#[server(endpoint = "support_try_script")]
pub async fn support_try_script(
    script_id: String,
    event_id: String,
) -> Result<ScriptTrial, AppError> {
    super::finish(
        async move {
            let (state, _) = crate::session::support_context().await?;
            let script = super::parse_id(&script_id, "script version")?;
            let event = event_id.trim().parse().map_err(|_| {
                AppError::field("event_id", "Paste the id of a stored inbound event.")
            })?;
            crate::domain::support::try_script(&state.db, &pipeline(&state)?, script, event).await
        }
        .await,
    )
}

/// Makes a script version the active one.
#[server(endpoint = "support_activate_script")]
pub async fn support_activate_script(script_id: String) -> Result<ScriptVersion, AppError> {
    super::finish(
        async move {
            let (state, me) = crate::session::support_context().await?;
            let script = super::parse_id(&script_id, "script version")?;
            let actor = crate::domain::audit::Actor::User(me.user_id);
            crate::domain::support::activate_script(&state.db, &pipeline(&state)?, actor, script)
                .await
        }
        .await,
    )
}

/// Failed outbound deliveries across merchants, newest first.
#[server(endpoint = "support_failed_deliveries")]
pub async fn support_failed_deliveries() -> Result<Vec<crate::model::outbound::Delivery>, AppError>
{
    super::finish(
        async move {
            let (state, _) = crate::session::support_context().await?;
            crate::domain::outbound::deliveries::failed(&state.db, None, 200).await
        }
        .await,
    )
}

/// Sends a failed delivery again (audited on the merchant).
#[server(endpoint = "support_resend_delivery")]
pub async fn support_resend_delivery(
    id: String,
) -> Result<crate::model::outbound::Delivery, AppError> {
    super::finish(
        async move {
            let (state, me) = crate::session::support_context().await?;
            let id = super::parse_id(&id, "delivery")?;
            let d = crate::domain::outbound::deliveries::resend(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                None,
                id,
            )
            .await?;
            state.outbound.wake();
            Ok(d)
        }
        .await,
    )
}
