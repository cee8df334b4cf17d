//! API tokens in settings.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ApiTokenInfo, NewApiToken};

/// The merchant's tokens.
#[server(endpoint = "tokens")]
pub async fn list_tokens() -> Result<Vec<ApiTokenInfo>, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            crate::domain::tokens::list(&state.db, merchant).await
        }
        .await,
    )
}

/// Creates a token; the answer is the only place its secret appears.
#[server(endpoint = "create_token")]
pub async fn create_token(name: String) -> Result<NewApiToken, AppError> {
    super::finish(
        async move {
            let (state, me, merchant) = crate::session::merchant_context().await?;
            crate::domain::tokens::create(&state.db, merchant, Some(me.user_id), &name).await
        }
        .await,
    )
}

/// Revokes a token.
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "API token")?;
            crate::domain::tokens::revoke(&state.db, merchant, id).await
        }
        .await,
    )
}
