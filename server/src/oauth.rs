//! The browser side of OAuth Connect and the background refresher.
//!
//! - `POST /oauth/connect` (form field `install_id`, signed-in merchant,
//!   same-origin): remembers a pending flow in the session and answers 303 to
//!   the provider's authorization page.
//! - `GET /oauth/callback`: the one redirect URI. The flow is found by the
//!   hash of `state` in this session and removed at once (one-time); the
//!   merchant lands back on the integration page with `?oauth=<outcome>`.
use std::time::Duration;

use app::domain::accounts;
use app::domain::oauth::flow::{self, CallbackParams, PendingFlow, MAX_PENDING, PENDING_KEY};
use app::domain::oauth::provider::{Provider, ResolveError};
use app::domain::oauth::refresh;
use app::domain::AppState;
use app::model::{OAuthOutcome, Role};
use app::session::USER_KEY;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::api::error::ApiError;
use app::error::AppError;

/// The two browser routes; they need the session layer.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/connect", post(connect))
        .route("/oauth/callback", get(callback))
}

#[derive(Deserialize)]
struct ConnectForm {
    install_id: String,
}

fn back_to(slug: &str, outcome: OAuthOutcome, install: Option<Uuid>) -> Response {
    let mut to = format!("/integrations/{slug}?oauth={}", outcome.as_str());
    if let Some(id) = install {
        to.push_str(&format!("&install={id}"));
    }
    Redirect::to(&to).into_response()
}

async fn pending(session: &Session) -> Vec<PendingFlow> {
    session
        .get::<Vec<PendingFlow>>(PENDING_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn connect(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ConnectForm>,
) -> Response {
    let Ok(Some(user_id)) = session.get::<Uuid>(USER_KEY).await else {
        return Redirect::to("/signin").into_response();
    };
    let merchant_id = match accounts::me(&state.db, user_id).await {
        Ok(Some(me)) if me.role == Role::Owner => match me.merchant_id {
            Some(id) => id,
            None => return Redirect::to("/signin").into_response(),
        },
        Ok(_) => {
            return ApiError(AppError::Forbidden(
                "Only merchant accounts connect integrations.".into(),
            ))
            .into_response()
        }
        Err(e) => return ApiError(e).into_response(),
    };
    let Ok(install_id) = form.install_id.trim().parse::<Uuid>() else {
        return ApiError(AppError::invalid(
            "install_id must be an install id (a UUID).",
        ))
        .into_response();
    };
    let (_, integ) = match flow::load(&state, merchant_id, install_id).await {
        Ok(found) => found,
        Err(e) => return ApiError(e).into_response(),
    };
    match Provider::resolve(&state.oauth, &integ) {
        Ok(_) => {}
        Err(ResolveError::NotConfigured(_)) => {
            return back_to(&integ.slug, OAuthOutcome::NotConfigured, Some(install_id))
        }
        Err(e) => return ApiError(e.into()).into_response(),
    }
    let started = match flow::start(&state, merchant_id, user_id, install_id).await {
        Ok(s) => s,
        Err(e) => return ApiError(e).into_response(),
    };
    let now = entity::now().unix_timestamp();
    let mut flows: Vec<PendingFlow> = pending(&session)
        .await
        .into_iter()
        .filter(|f| !f.expired(now))
        .collect();
    while flows.len() >= MAX_PENDING {
        flows.remove(0);
    }
    flows.push(started.flow);
    if let Err(e) = session.insert(PENDING_KEY, flows).await {
        tracing::error!(error = %e, "could not remember the OAuth flow");
        return ApiError(AppError::Internal).into_response();
    }
    Redirect::to(&started.authorize_url).into_response()
}

async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Response {
    let user = session.get::<Uuid>(USER_KEY).await.ok().flatten();
    let mut flows = pending(&session).await;
    let wanted = params.state.as_deref().map(flow::hash_state);
    let position = flows
        .iter()
        .position(|f| Some(&f.state_hash) == wanted.as_ref() && Some(f.user_id) == user);
    let Some(position) = position else {
        tracing::warn!("OAuth callback with a state this session did not start");
        return Redirect::to(&format!(
            "/integrations?oauth={}",
            OAuthOutcome::StateMismatch.as_str()
        ))
        .into_response();
    };
    // One-time: forget the flow before doing anything with it.
    let matched = flows.remove(position);
    if let Err(e) = session.insert(PENDING_KEY, flows).await {
        tracing::error!(error = %e, "could not update the session");
        return ApiError(AppError::Internal).into_response();
    }
    if let Err(e) = session.save().await {
        tracing::error!(error = %e, "could not save the session");
        return ApiError(AppError::Internal).into_response();
    }
    let outcome = flow::finish(&state, &matched, &params).await;
    back_to(&matched.integration, outcome, Some(matched.install_id))
}

/// Refreshes expiring tokens every `interval`, as one of possibly many
/// processes (the database lease keeps each refresh single).
pub fn spawn_refresher(state: AppState, interval: Duration) {
    let owner = format!("process:{}", Uuid::new_v4());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match refresh::refresh_due(&state, &owner).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(refreshed = n, "OAuth refresh round"),
                Err(e) => tracing::warn!(error = %e, "OAuth refresh round failed"),
            }
        }
    });
}
