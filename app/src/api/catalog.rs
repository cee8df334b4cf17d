//! The catalog, open to everyone.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Catalog, CatalogQuery, IntegrationDetail};

/// The catalog, filtered.
#[server(endpoint = "catalog")]
pub async fn list_catalog(query: CatalogQuery) -> Result<Catalog, AppError> {
    super::finish(
        async move {
            let state = crate::domain::AppState::from_context()?;
            crate::domain::catalog::list(&state.db, &query).await
        }
        .await,
    )
}

/// One integration.
#[server(endpoint = "integration")]
pub async fn get_integration(slug: String) -> Result<IntegrationDetail, AppError> {
    super::finish(
        async move {
            let state = crate::domain::AppState::from_context()?;
            crate::domain::catalog::detail(&state.db, &slug).await
        }
        .await,
    )
}
