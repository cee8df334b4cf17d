//! `Authorization: Bearer <token>` for machine clients.
use app::domain::audit::Actor;
use app::domain::{tokens, AppState};
use app::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use super::error::ApiError;

/// The merchant a valid API token belongs to.
#[derive(Clone, Copy, Debug)]
pub struct MerchantAuth {
    pub merchant_id: Uuid,
    pub token_id: Uuid,
}

impl MerchantAuth {
    /// The token, as the audit log names it.
    pub fn actor(&self) -> Actor {
        Actor::Token(self.token_id)
    }
}

impl FromRequestParts<AppState> for MerchantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError(AppError::Unauthorized(
                    "Send an API token as Authorization: Bearer <token>. Create one in Settings."
                        .into(),
                ))
            })?;
        let owner = tokens::authenticate(&state.db, token).await?;
        Ok(MerchantAuth {
            merchant_id: owner.merchant_id,
            token_id: owner.token_id,
        })
    }
}
