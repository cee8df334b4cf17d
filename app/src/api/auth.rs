//! Sign-up, sign-in, sign-out and "who am I".
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;

/// The signed-in user, or `None`.
#[server(endpoint = "me")]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    super::finish(
        async move {
            let state = crate::domain::AppState::from_context()?;
            crate::session::current(&state).await
        }
        .await,
    )
}

/// Creates a merchant and its owner, signs them in, and opens Locations.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    merchant_name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    super::finish(
        async move {
            use crate::domain::accounts;
            let state = crate::domain::AppState::from_context()?;
            let user = accounts::sign_up(
                &state.db,
                accounts::SignUp {
                    merchant_name,
                    email,
                    password,
                },
            )
            .await?;
            crate::session::sign_in(user.id).await?;
            leptos_axum::redirect("/locations");
            Ok(())
        }
        .await,
    )
}

/// Signs in and opens the catalog.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    super::finish(
        async move {
            use crate::domain::accounts;
            let state = crate::domain::AppState::from_context()?;
            let ip = crate::session::client_ip().await;
            let user = accounts::authenticate(&state.db, &email, &password, ip).await?;
            crate::session::sign_in(user.id).await?;
            leptos_axum::redirect("/integrations");
            Ok(())
        }
        .await,
    )
}

/// Signs out and returns home.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    super::finish(
        async move {
            crate::session::sign_out().await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}
