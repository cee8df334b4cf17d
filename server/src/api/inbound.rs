//! `/v1/provider-connections`, `/v1/store-mappings`, `/v1/inbound/events`:
//! managing how inbound webhooks are attributed and looking at what came in.
use app::domain::inbound::connections;
use app::domain::AppState;
use app::error::AppError;
use app::model::{
    InboundEventSummary, ProviderConnection, ProviderConnectionCreated, ProviderConnectionInput,
    StoreMapping,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// Connects a provider account (POS, WMS, seller feed) to the merchant; the
/// answer carries the webhook signing secret, once.
#[utoipa::path(post, path = "/v1/provider-connections", tag = "inbound",
    security(("bearer" = [])),
    request_body = ProviderConnectionInput,
    responses((status = 201, description = "Connected; `secret` is shown only now", body = ProviderConnectionCreated),
              (status = 400, description = "Unknown provider, empty account id or bad allowlist entry", body = ErrorBody),
              (status = 409, description = "The account is already connected", body = ErrorBody)))]
pub async fn create_connection(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiJson(input): ApiJson<ProviderConnectionInput>,
) -> Result<(StatusCode, Json<ProviderConnectionCreated>), ApiError> {
    let created = connections::create(
        &state.db,
        &state.keys.current(),
        auth.actor(),
        auth.merchant_id,
        input,
    )
    .await?;
    if let Some(p) = &state.pipeline {
        // An earlier "unknown account" answer must not linger here.
        p.connections.invalidate();
    }
    Ok((StatusCode::CREATED, Json(created)))
}

/// The merchant's provider connections (secrets never included).
#[utoipa::path(get, path = "/v1/provider-connections", tag = "inbound",
    security(("bearer" = [])),
    responses((status = 200, description = "Connections", body = [ProviderConnection])))]
pub async fn list_connections(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<ProviderConnection>>, ApiError> {
    Ok(Json(connections::list(&state.db, auth.merchant_id).await?))
}

/// Removes a provider connection; its webhooks are refused from then on.
#[utoipa::path(delete, path = "/v1/provider-connections/{id}", tag = "inbound",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Connection id")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such connection", body = ErrorBody)))]
pub async fn delete_connection(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    connections::delete(&state.db, auth.actor(), auth.merchant_id, id).await?;
    if let Some(p) = &state.pipeline {
        // At once here; other processes within the cache's 5 s.
        p.connections.invalidate();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Maps a provider store id to a location.
#[utoipa::path(post, path = "/v1/store-mappings", tag = "inbound",
    security(("bearer" = [])),
    request_body = StoreMapping,
    responses((status = 200, description = "Mapped", body = StoreMapping),
              (status = 404, description = "No such location", body = ErrorBody)))]
pub async fn map_store(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiJson(mapping): ApiJson<StoreMapping>,
) -> Result<Json<StoreMapping>, ApiError> {
    Ok(Json(
        connections::map_store(&state.db, auth.actor(), auth.merchant_id, mapping).await?,
    ))
}

/// The merchant's store mappings.
#[utoipa::path(get, path = "/v1/store-mappings", tag = "inbound",
    security(("bearer" = [])),
    responses((status = 200, description = "Mappings", body = [StoreMapping])))]
pub async fn store_mappings(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<StoreMapping>>, ApiError> {
    Ok(Json(
        connections::store_mappings(&state.db, auth.merchant_id).await?,
    ))
}

/// Filters of the inbound event list.
#[derive(Deserialize, IntoParams)]
pub struct EventFilter {
    /// Only this status: received, processed, skipped, failed, duplicate.
    pub status: Option<String>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u64>,
}

/// The merchant's newest inbound deliveries.
#[utoipa::path(get, path = "/v1/inbound/events", tag = "inbound",
    security(("bearer" = [])),
    params(EventFilter),
    responses((status = 200, description = "Events, newest first", body = [InboundEventSummary])))]
pub async fn events(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiQuery(filter): ApiQuery<EventFilter>,
) -> Result<Json<Vec<InboundEventSummary>>, ApiError> {
    let limit = filter.limit.unwrap_or(100).clamp(1, 500);
    Ok(Json(
        connections::events(&state.db, auth.merchant_id, filter.status.as_deref(), limit).await?,
    ))
}

/// A location's catalog and open/closed status, as the inbound pipeline
/// built them.
#[utoipa::path(get, path = "/v1/locations/{id}/catalog", tag = "inbound",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 200, description = "The catalog", body = app::model::LocationCatalog),
              (status = 404, description = "No such location", body = ErrorBody)))]
pub async fn location_catalog(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<app::model::LocationCatalog>, ApiError> {
    Ok(Json(
        app::domain::inbound::read_models::location_catalog(&state.db, auth.merchant_id, id)
            .await?,
    ))
}

/// A location's item availability and open/closed status, from the Redis
/// views (kept current from the canonical events) when `redis_url` is set,
/// else from the database.
#[utoipa::path(get, path = "/v1/locations/{id}/availability", tag = "inbound",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 200, description = "The view", body = crate::views::Availability),
              (status = 404, description = "No such location", body = ErrorBody),
              (status = 503, description = "Redis or the database does not answer", body = ErrorBody)))]
pub async fn availability(
    State(state): State<AppState>,
    axum::Extension(views): axum::Extension<crate::views::Views>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<crate::views::Availability>, ApiError> {
    entity::location::Entity::find_for_merchant(&state.db, auth.merchant_id, id)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::NotFound("No such location.".into()))?;
    let view = match &views.0 {
        Some(redis) => redis.read(id).await,
        None => crate::views::from_database(&state.db, id).await,
    };
    view.map(Json).map_err(|e| {
        tracing::warn!(error = %e, "availability view unreadable");
        ApiError(AppError::Unavailable(
            "The availability view cannot be read right now; retry later.".into(),
        ))
    })
}

/// Runs a failed delivery through the pipeline again (after a mapping
/// fix, say). Idempotent: events that did not fail are answered unchanged.
#[utoipa::path(post, path = "/v1/inbound/events/{id}/replay", tag = "inbound",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Inbound event id")),
    responses((status = 200, description = "The event after the replay", body = InboundEventSummary),
              (status = 404, description = "No such event", body = ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InboundEventSummary>, ApiError> {
    let pipeline = state
        .pipeline
        .clone()
        .ok_or(app::error::AppError::Internal)?;
    app::domain::inbound::processor::replay(&state.db, &pipeline, auth.merchant_id, id).await?;
    app::domain::audit::record(
        &state.db,
        Some(auth.merchant_id),
        auth.actor(),
        "inbound_event.replayed",
        format!("inbound_event:{id}"),
        None,
        None,
    )
    .await?;
    let event = connections::event(&state.db, auth.merchant_id, id).await?;
    Ok(Json(event))
}

/// Maps a provider SKU to an item (a new item when `item_id` is absent).
#[utoipa::path(post, path = "/v1/item-mappings", tag = "inbound",
    security(("bearer" = [])),
    request_body = app::model::ItemMapping,
    responses((status = 200, description = "Mapped", body = app::model::ItemMapping),
              (status = 400, description = "Empty SKU or unknown provider", body = ErrorBody)))]
pub async fn map_item(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiJson(mapping): ApiJson<app::model::ItemMapping>,
) -> Result<Json<app::model::ItemMapping>, ApiError> {
    Ok(Json(
        connections::map_item(&state.db, auth.actor(), auth.merchant_id, mapping).await?,
    ))
}

/// The merchant's SKU mappings.
#[utoipa::path(get, path = "/v1/item-mappings", tag = "inbound",
    security(("bearer" = [])),
    responses((status = 200, description = "Mappings", body = [app::model::ItemMapping])))]
pub async fn item_mappings(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<app::model::ItemMapping>>, ApiError> {
    Ok(Json(
        connections::item_mappings(&state.db, auth.merchant_id).await?,
    ))
}

/// Maps a provider variant to a variant of one of the merchant's items (a
/// new variant when `variant_id` is absent).
#[utoipa::path(post, path = "/v1/variant-mappings", tag = "inbound",
    security(("bearer" = [])),
    request_body = app::model::VariantMapping,
    responses((status = 200, description = "Mapped", body = app::model::VariantMapping),
              (status = 400, description = "Empty id or unknown provider", body = ErrorBody),
              (status = 404, description = "No such item", body = ErrorBody)))]
pub async fn map_variant(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiJson(mapping): ApiJson<app::model::VariantMapping>,
) -> Result<Json<app::model::VariantMapping>, ApiError> {
    Ok(Json(
        connections::map_variant(&state.db, auth.actor(), auth.merchant_id, mapping).await?,
    ))
}

/// The merchant's variant mappings.
#[utoipa::path(get, path = "/v1/variant-mappings", tag = "inbound",
    security(("bearer" = [])),
    responses((status = 200, description = "Mappings", body = [app::model::VariantMapping])))]
pub async fn variant_mappings(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<app::model::VariantMapping>>, ApiError> {
    Ok(Json(
        connections::variant_mappings(&state.db, auth.merchant_id).await?,
    ))
}
