//! The merchant's inbound setup: provider connections, store, item and
//! variant mappings, and recent deliveries with Replay.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{
    InboundEventSummary, ItemMapping, ProviderConnection, ProviderConnectionCreated, StoreMapping,
    VariantMapping,
};

/// Everything the inbound page shows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InboundOverview {
    /// Adapter names a connection can use.
    pub providers: Vec<String>,
    pub connections: Vec<ProviderConnection>,
    pub store_mappings: Vec<StoreMapping>,
    pub item_mappings: Vec<ItemMapping>,
    pub variant_mappings: Vec<VariantMapping>,
    pub locations: Vec<crate::model::LocationRef>,
}

/// The merchant's newest deliveries (the page reloads them while an
/// import is applied, to show its progress).
#[server(endpoint = "load_deliveries")]
pub async fn load_deliveries() -> Result<Vec<InboundEventSummary>, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            crate::domain::inbound::connections::events(&state.db, merchant, None, 50).await
        }
        .await,
    )
}

/// The merchant's connections and mappings.
#[server(endpoint = "load_inbound")]
pub async fn load_inbound() -> Result<InboundOverview, AppError> {
    super::finish(
        async move {
            use crate::domain::inbound::{connections, registry};
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let mut providers: Vec<String> = registry::all()
                .iter()
                .map(|a| a.name().to_string())
                .collect();
            providers.sort();
            providers.dedup();
            Ok(InboundOverview {
                providers,
                connections: connections::list(&state.db, merchant).await?,
                store_mappings: connections::store_mappings(&state.db, merchant).await?,
                item_mappings: connections::item_mappings(&state.db, merchant).await?,
                variant_mappings: connections::variant_mappings(&state.db, merchant).await?,
                locations: crate::domain::locations::refs(&state.db, merchant).await?,
            })
        }
        .await,
    )
}

/// Connects a provider account; the answer holds the secret, shown once.
#[server(endpoint = "add_connection")]
pub async fn add_connection(
    provider: String,
    account_id: String,
    allow_new_items: Option<String>,
    ip_allowlist: String,
) -> Result<ProviderConnectionCreated, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let input = crate::model::ProviderConnectionInput {
                provider,
                account_id,
                allow_new_items: allow_new_items.is_some(),
                ip_allowlist: ip_allowlist
                    .split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            let created = crate::domain::inbound::connections::create(
                &state.db,
                &state.keys.current(),
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                input,
            )
            .await?;
            if let Some(p) = &state.pipeline {
                p.connections.invalidate();
            }
            Ok(created)
        }
        .await,
    )
}

/// Removes a connection.
#[server(endpoint = "remove_connection")]
pub async fn remove_connection(id: String) -> Result<(), AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "provider connection")?;
            crate::domain::inbound::connections::delete(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                id,
            )
            .await?;
            if let Some(p) = &state.pipeline {
                p.connections.invalidate();
            }
            Ok(())
        }
        .await,
    )
}

/// Maps a provider store to a location.
#[server(endpoint = "add_store_mapping")]
pub async fn add_store_mapping(
    provider: String,
    provider_store_id: String,
    location_id: String,
) -> Result<StoreMapping, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let location_id = location_id
                .trim()
                .parse()
                .map_err(|_| AppError::field("location_id", "Choose a location."))?;
            crate::domain::inbound::connections::map_store(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                StoreMapping {
                    provider,
                    provider_store_id,
                    location_id,
                },
            )
            .await
        }
        .await,
    )
}

/// Maps a provider SKU to a new item.
#[server(endpoint = "add_item_mapping")]
pub async fn add_item_mapping(
    provider: String,
    provider_sku: String,
) -> Result<ItemMapping, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            crate::domain::inbound::connections::map_item(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                ItemMapping {
                    provider,
                    provider_sku,
                    item_id: None,
                },
            )
            .await
        }
        .await,
    )
}

/// Maps a provider variant to a new variant of one of the merchant's items.
#[server(endpoint = "add_variant_mapping")]
pub async fn add_variant_mapping(
    provider: String,
    provider_variant_id: String,
    item_id: String,
) -> Result<VariantMapping, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let item_id = item_id
                .trim()
                .parse()
                .map_err(|_| AppError::field("item_id", "Choose an item."))?;
            crate::domain::inbound::connections::map_variant(
                &state.db,
                crate::domain::audit::Actor::User(me.user_id),
                merchant,
                VariantMapping {
                    provider,
                    provider_variant_id,
                    item_id,
                    variant_id: None,
                },
            )
            .await
        }
        .await,
    )
}

/// Runs one of the merchant's failed deliveries again.
#[server(endpoint = "replay_delivery")]
pub async fn replay_delivery(id: String) -> Result<InboundEventSummary, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "inbound event")?;
            let pipeline = state.pipeline.clone().ok_or(AppError::Internal)?;
            crate::domain::inbound::processor::replay(&state.db, &pipeline, merchant, id).await?;
            crate::domain::audit::record(
                &state.db,
                Some(merchant),
                crate::domain::audit::Actor::User(me.user_id),
                "inbound_event.replayed",
                format!("inbound_event:{id}"),
                None,
                None,
            )
            .await?;
            crate::domain::inbound::connections::event(&state.db, merchant, id).await
        }
        .await,
    )
}
