//! Who is signed in, read from the tower-sessions session inside a server
//! function. Server only.
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{accounts, AppState};
use crate::error::{AppError, AppResult};
use crate::model::{Me, Role};

/// Session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";

/// The request's session.
pub async fn session() -> AppResult<Session> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "session layer missing");
        AppError::Internal
    })
}

/// Starts a signed-in session for `user_id`, with a fresh session id so an
/// id planted before sign-in is worthless afterwards.
pub async fn sign_in(user_id: Uuid) -> AppResult<()> {
    let session = session().await?;
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(USER_KEY, user_id)
        .await
        .map_err(session_error)?;
    Ok(())
}

/// Ends the session and deletes it from the store.
pub async fn sign_out() -> AppResult<()> {
    session().await?.flush().await.map_err(session_error)
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::Internal
}

/// The signed-in user, if any.
pub async fn current(state: &AppState) -> AppResult<Option<Me>> {
    let session = session().await?;
    let Some(user_id) = session.get::<Uuid>(USER_KEY).await.map_err(session_error)? else {
        return Ok(None);
    };
    accounts::me(&state.db, user_id).await
}

/// The signed-in user, or `Unauthorized`.
pub async fn require(state: &AppState) -> AppResult<Me> {
    current(state)
        .await?
        .ok_or_else(|| AppError::Unauthorized("Sign in to continue.".into()))
}

/// The signed-in merchant user and their merchant id.
pub async fn require_merchant(state: &AppState) -> AppResult<(Me, Uuid)> {
    let me = require(state).await?;
    match (me.role, me.merchant_id) {
        (Role::Owner, Some(id)) => Ok((me, id)),
        _ => Err(AppError::Forbidden(
            "This page is for merchant accounts.".into(),
        )),
    }
}

/// Everything a merchant server function starts with: the state, the
/// signed-in merchant user and their merchant id.
pub async fn merchant_context() -> AppResult<(AppState, Me, Uuid)> {
    let state = AppState::from_context()?;
    let (me, merchant) = require_merchant(&state).await?;
    Ok((state, me, merchant))
}

/// Everything a support server function starts with: the state and the
/// signed-in support agent (merchant owners are refused).
pub async fn support_context() -> AppResult<(AppState, Me)> {
    let state = AppState::from_context()?;
    let me = require(&state).await?;
    if me.role != Role::Support {
        return Err(AppError::Forbidden(
            "The support console is for support agents.".into(),
        ));
    }
    Ok((state, me))
}

/// The client address, when the server recorded it.
pub async fn client_ip() -> Option<String> {
    leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|ci| ci.0.ip().to_string())
}
