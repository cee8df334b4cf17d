//! `GET /api/v1/outlets/{outletId}/live` (API token) and
//! `GET /live/outlets/{outletId}` (the signed-in merchant's board): the
//! store's channel as server-sent events. Each event's id is its outbox
//! id; a client that reconnects with `Last-Event-ID` (browsers do this by
//! themselves) first gets everything after that id from the outbox, then
//! the live stream, so a dropped connection misses nothing.
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use app::domain::live::{self, LiveEvent, LiveMsg};
use app::domain::{accounts, AppState};
use app::error::AppError;
use app::model::Role;
use app::session::USER_KEY;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use entity::location;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tower_sessions::Session;
use uuid::Uuid;

use crate::api::auth::MerchantAuth;
use crate::api::error::{ApiError, ApiPath, ErrorBody};

/// Catch-up reads this many outbox rows at a time.
const PAGE: u64 = 500;
/// On a resync, how far behind the newest event sent to look again.
const RESYNC_WINDOW: i64 = 1000;

/// The store's order and payment events, live.
#[utoipa::path(get, path = "/api/v1/outlets/{outletId}/live", tag = "payments",
    security(("bearer" = [])),
    params(("outletId" = Uuid, Path, description = "The outlet (store)"),
           ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id")),
    responses((status = 200, description = "`text/event-stream`: one event per order status change or payment event; `id` is the resume point, `data` the event as JSON", content_type = "text/event-stream", body = String),
              (status = 401, description = "Missing or invalid token", body = ErrorBody),
              (status = 404, description = "No such outlet", body = ErrorBody)))]
pub async fn api_stream(
    State(state): State<AppState>,
    auth: MerchantAuth,
    ApiPath(outlet_id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(stream(state, auth.merchant_id, outlet_id, &headers)
        .await?
        .into_response())
}

/// The same stream for the signed-in merchant (the board page).
pub async fn session_stream(
    State(state): State<AppState>,
    session: Session,
    ApiPath(outlet_id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Ok(Some(user_id)) = session.get::<Uuid>(USER_KEY).await else {
        return Err(AppError::Unauthorized("Sign in to continue.".into()).into());
    };
    let merchant_id = match accounts::me(&state.db, user_id).await? {
        Some(me) if me.role == Role::Owner => me.merchant_id.ok_or(AppError::Internal)?,
        Some(_) => {
            return Err(AppError::Forbidden("The live board belongs to merchants.".into()).into())
        }
        None => return Err(AppError::Unauthorized("Sign in to continue.".into()).into()),
    };
    Ok(stream(state, merchant_id, outlet_id, &headers)
        .await?
        .into_response())
}

async fn stream(
    state: AppState,
    merchant_id: Uuid,
    outlet_id: Uuid,
    headers: &HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    location::Entity::find_for_merchant(&state.db, merchant_id, outlet_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such outlet.".into()))?;
    let resume =
        match headers.get("last-event-id").map(|v| v.to_str()) {
            None => None,
            Some(Ok(v)) => Some(v.trim().parse::<i64>().map_err(|_| {
                AppError::field("Last-Event-ID", "Last-Event-ID must be an event id.")
            })?),
            Some(Err(_)) => {
                return Err(AppError::field(
                    "Last-Event-ID",
                    "Last-Event-ID must be an event id.",
                ))
            }
        };
    // Subscribe before reading the outbox, so nothing falls in between.
    let rx = state.live.subscribe();
    let start = match resume {
        Some(id) => id,
        None => live::newest(&state.db).await?,
    };
    let (tx, out) = mpsc::channel::<Event>(256);
    tokio::spawn(forward(
        state,
        merchant_id,
        outlet_id,
        start,
        resume.is_some(),
        rx,
        tx,
    ));
    let stream = tokio_stream::wrappers::ReceiverStream::new(out);
    let stream = futures::StreamExt::map(stream, Ok::<Event, Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sse_event(e: &LiveEvent) -> Event {
    Event::default()
        .id(e.id.to_string())
        .data(serde_json::to_string(&e.data).unwrap_or_default())
}

/// Feeds one subscriber: catch-up from the outbox, then live events,
/// each id once. Ends when the client goes away.
async fn forward(
    state: AppState,
    merchant_id: Uuid,
    outlet_id: Uuid,
    start: i64,
    catch_up_first: bool,
    mut rx: tokio::sync::broadcast::Receiver<LiveMsg>,
    tx: mpsc::Sender<Event>,
) {
    let mut sent: BTreeSet<i64> = BTreeSet::new();
    if catch_up_first
        && catch_up(&state, merchant_id, outlet_id, start, &mut sent, &tx)
            .await
            .is_err()
    {
        return;
    }
    loop {
        let received = tokio::select! {
            // The client went away, even if its store stays quiet.
            _ = tx.closed() => return,
            r = rx.recv() => r,
        };
        let resync = match received {
            Ok(LiveMsg::Event(e)) => {
                if e.merchant_id != merchant_id || e.store_id != outlet_id || sent.contains(&e.id) {
                    continue;
                }
                if tx.send(sse_event(&e)).await.is_err() {
                    return;
                }
                sent.insert(e.id);
                false
            }
            Ok(LiveMsg::Resync) | Err(RecvError::Lagged(_)) => true,
            Err(RecvError::Closed) => return,
        };
        if resync {
            let from = sent
                .last()
                .map(|last| (last - RESYNC_WINDOW).max(start))
                .unwrap_or(start);
            if catch_up(&state, merchant_id, outlet_id, from, &mut sent, &tx)
                .await
                .is_err()
            {
                return;
            }
        }
        // Remember only what a resync could read again.
        if let Some(&last) = sent.last() {
            let keep = sent.split_off(&(last - RESYNC_WINDOW));
            sent = keep;
        }
    }
}

/// Sends the store's events after `from` not sent yet. `Err` when the
/// client is gone.
async fn catch_up(
    state: &AppState,
    merchant_id: Uuid,
    outlet_id: Uuid,
    mut from: i64,
    sent: &mut BTreeSet<i64>,
    tx: &mpsc::Sender<Event>,
) -> Result<(), ()> {
    loop {
        let (events, read) = match live::since(&state.db, merchant_id, outlet_id, from, PAGE).await
        {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "live board catch-up failed");
                return Ok(());
            }
        };
        for e in &events {
            if sent.insert(e.id) && tx.send(sse_event(e)).await.is_err() {
                return Err(());
            }
        }
        match read {
            Some(last) => from = last,
            None => return Ok(()),
        }
    }
}
