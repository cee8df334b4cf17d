//! `GET /v1/me`: which merchant a token acts for.
use app::domain::AppState;
use axum::extract::State;
use axum::Json;
use entity::merchant;
use sea_orm::EntityTrait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::MerchantAuth;
use super::error::{ApiError, ErrorBody};

/// The merchant behind the token.
#[derive(Serialize, ToSchema)]
pub struct TokenOwner {
    pub merchant_id: Uuid,
    pub merchant_name: String,
}

/// Who the token acts for; a cheap way to check a token works.
#[utoipa::path(get, path = "/v1/me", tag = "account",
    security(("bearer" = [])),
    responses((status = 200, description = "The token's merchant", body = TokenOwner),
              (status = 401, description = "Missing or invalid token", body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    auth: MerchantAuth,
) -> Result<Json<TokenOwner>, ApiError> {
    let m = merchant::Entity::find_by_id(auth.merchant_id)
        .one(&state.db)
        .await
        .map_err(app::error::AppError::from)?
        .ok_or(app::error::AppError::Internal)?;
    Ok(Json(TokenOwner {
        merchant_id: m.id,
        merchant_name: m.name,
    }))
}
