//! The signed-in merchant's locations.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Location;
#[cfg(feature = "ssr")]
use crate::model::{ExternalId, LocationInput};

/// Every location of the merchant.
#[server(endpoint = "locations")]
pub async fn list_locations() -> Result<Vec<Location>, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            crate::domain::locations::list(&state.db, merchant).await
        }
        .await,
    )
}

/// Adds a location.
#[server(endpoint = "add_location")]
pub async fn add_location(
    name: String,
    city: String,
    timezone: String,
) -> Result<Location, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            crate::domain::locations::create(
                &state.db,
                merchant,
                LocationInput {
                    name,
                    city,
                    timezone,
                    external_ids: None,
                },
            )
            .await
        }
        .await,
    )
}

/// Renames a location (and changes its city or time zone).
#[server(endpoint = "update_location")]
pub async fn update_location(
    id: String,
    name: String,
    city: String,
    timezone: String,
) -> Result<Location, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "location")?;
            crate::domain::locations::update(
                &state.db,
                merchant,
                id,
                LocationInput {
                    name,
                    city,
                    timezone,
                    external_ids: None,
                },
            )
            .await
        }
        .await,
    )
}

/// Removes a location.
#[server(endpoint = "remove_location")]
pub async fn remove_location(id: String) -> Result<(), AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "location")?;
            let actor = crate::domain::audit::Actor::User(me.user_id);
            crate::domain::locations::delete(&state.db, actor, merchant, id).await
        }
        .await,
    )
}

/// Sets (or, with an empty id, removes) the id a POS provider uses for a location.
#[server(endpoint = "set_external_id")]
pub async fn set_external_id(
    location_id: String,
    provider: String,
    external_id: String,
) -> Result<Location, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&location_id, "location")?;
            let current = crate::domain::locations::get(&state.db, merchant, id).await?;
            let provider = provider.trim().to_lowercase();
            let mut ids: Vec<ExternalId> = current
                .external_ids
                .into_iter()
                .filter(|e| e.provider != provider)
                .collect();
            if !external_id.trim().is_empty() {
                ids.push(ExternalId {
                    provider,
                    external_id,
                });
            }
            crate::domain::locations::update(
                &state.db,
                merchant,
                id,
                LocationInput {
                    name: current.name,
                    city: current.city,
                    timezone: current.timezone,
                    external_ids: Some(ids),
                },
            )
            .await
        }
        .await,
    )
}

/// One location's catalog and status, as the inbound pipeline built it.
#[server(endpoint = "get_location_catalog")]
pub async fn get_location_catalog(id: String) -> Result<crate::model::LocationCatalog, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "location")?;
            crate::domain::inbound::read_models::location_catalog(&state.db, merchant, id).await
        }
        .await,
    )
}
