//! `GET /v1/integrations/catalog[/{slug}]`: the public, read-only catalog.
use app::domain::{catalog, AppState};
use app::model::{Catalog, CatalogQuery, IntegrationDetail};
use axum::extract::State;
use axum::Json;

use super::error::{ApiError, ApiPath, ApiQuery, ErrorBody};

/// The catalog with categories and capabilities, optionally filtered.
#[utoipa::path(get, path = "/v1/integrations/catalog", tag = "catalog",
    params(CatalogQuery),
    responses((status = 200, description = "The catalog", body = Catalog),
              (status = 400, description = "Malformed query", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CatalogQuery>,
) -> Result<Json<Catalog>, ApiError> {
    Ok(Json(catalog::list(&state.db, &query).await?))
}

/// One integration with its capabilities, auth shape and config schema.
#[utoipa::path(get, path = "/v1/integrations/catalog/{slug}", tag = "catalog",
    params(("slug" = String, Path, description = "Integration slug, e.g. `spliteasy`")),
    responses((status = 200, description = "The integration", body = IntegrationDetail),
              (status = 404, description = "No such integration", body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<IntegrationDetail>, ApiError> {
    Ok(Json(catalog::detail(&state.db, &slug).await?))
}
