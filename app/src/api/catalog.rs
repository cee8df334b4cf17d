//! The catalog, open to everyone.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Catalog, IntegrationDetail};

/// The catalog, filtered. Flat optional arguments: absent filters simply
/// stay out of the form encoding.
#[server(endpoint = "catalog")]
pub async fn list_catalog(
    q: Option<String>,
    category: Option<String>,
    capability: Option<String>,
) -> Result<Catalog, AppError> {
    super::finish(
        async move {
            let state = crate::domain::AppState::from_context()?;
            let query = crate::model::CatalogQuery {
                q,
                category,
                capability,
            };
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
