//! `/v1/locations`: the token's merchant's locations.
use app::domain::{locations, AppState};
use app::model::{Location, LocationInput};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// Every location of the merchant.
#[utoipa::path(get, path = "/v1/locations", tag = "locations",
    security(("bearer" = [])),
    responses((status = 200, description = "Locations, by name", body = [Location]),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<Vec<Location>>, ApiError> {
    Ok(Json(locations::list(&state.db, auth.merchant_id).await?))
}

/// Adds a location.
#[utoipa::path(post, path = "/v1/locations", tag = "locations",
    security(("bearer" = [])),
    request_body = LocationInput,
    responses((status = 201, description = "Created", body = Location),
              (status = 400, description = "Invalid fields", body = ErrorBody),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 409, description = "Name or external id already used", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiJson(input): ApiJson<LocationInput>,
) -> Result<(StatusCode, Json<Location>), ApiError> {
    let loc = locations::create(&state.db, auth.merchant_id, input).await?;
    Ok((StatusCode::CREATED, Json(loc)))
}

/// One location.
#[utoipa::path(get, path = "/v1/locations/{id}", tag = "locations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 200, description = "The location", body = Location),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 404, description = "No such location for this merchant", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Location>, ApiError> {
    Ok(Json(locations::get(&state.db, auth.merchant_id, id).await?))
}

/// Renames or changes a location; `external_ids`, when present, replaces the list.
#[utoipa::path(put, path = "/v1/locations/{id}", tag = "locations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Location id")),
    request_body = LocationInput,
    responses((status = 200, description = "Updated", body = Location),
              (status = 400, description = "Invalid fields", body = ErrorBody),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 404, description = "No such location for this merchant", body = ErrorBody),
              (status = 409, description = "Name or external id already used", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<LocationInput>,
) -> Result<Json<Location>, ApiError> {
    Ok(Json(
        locations::update(&state.db, auth.merchant_id, id, input).await?,
    ))
}

/// Removes a location.
#[utoipa::path(delete, path = "/v1/locations/{id}", tag = "locations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 204, description = "Removed"),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 404, description = "No such location for this merchant", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    locations::delete(&state.db, auth.actor(), auth.merchant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
