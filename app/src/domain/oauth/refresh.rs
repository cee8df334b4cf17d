//! Refreshing tokens before they expire.
//!
//! Every server process runs [`refresh_due`] on a timer. A refresh first
//! takes the install's lease in the database for the token version it saw
//! ([`entity::oauth_connection::Entity::take_lease`]), so however many
//! processes notice the same expiring token, the provider sees one refresh.
//! That matters: providers that rotate refresh tokens revoke the whole grant
//! when an old refresh token is used twice.
//!
//! A refusal from the provider (`invalid_grant`: expired or revoked) marks
//! the install `needs_reconnect`. Network trouble and 5xx answers are tried
//! again with back-off; after [`MAX_TRANSIENT_FAILURES`] in a row, once the
//! access token has expired, the install needs reconnecting too.
use entity::{install, integration, oauth_connection};
use oauth2::RefreshToken;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, RelationTrait};
use serde_json::json;
use uuid::Uuid;

use super::provider::{Provider, ResolveError};
use super::tokens::{self, TokenSet};
use super::ProviderCallError;
use crate::domain::audit::{self, Actor};
use crate::domain::AppState;
use crate::error::{AppError, AppResult};

/// Transient failures in a row after which an expired connection is given up.
pub const MAX_TRANSIENT_FAILURES: i32 = 5;

/// What one refresh attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// New tokens are stored.
    Refreshed,
    /// Another process holds the lease or already refreshed this version.
    Skipped,
    /// The provider refused; the merchant must reconnect.
    NeedsReconnect(String),
    /// It failed in a way that may pass; tried again later.
    WillRetry(String),
}

impl RefreshOutcome {
    /// A short word for logs and the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            RefreshOutcome::Refreshed => "refreshed",
            RefreshOutcome::Skipped => "skipped",
            RefreshOutcome::NeedsReconnect(_) => "needs_reconnect",
            RefreshOutcome::WillRetry(_) => "will_retry",
        }
    }
}

/// Refreshes every connected install whose token expires within the
/// margin; `owner` names this process. Answers how many were refreshed.
pub async fn refresh_due(state: &AppState, owner: &str) -> AppResult<usize> {
    let now = entity::now();
    let due = oauth_connection::Entity::find()
        .join(
            sea_orm::JoinType::InnerJoin,
            oauth_connection::Relation::Install.def(),
        )
        .filter(install::Column::AuthStatus.eq(install::auth_status::CONNECTED))
        .filter(oauth_connection::Column::RefreshToken.is_not_null())
        .filter(oauth_connection::Column::ExpiresAt.lte(now + state.oauth.refresh_margin))
        .filter(
            oauth_connection::Column::RetryAfter
                .is_null()
                .or(oauth_connection::Column::RetryAfter.lte(now)),
        )
        .limit(200)
        .all(&state.db)
        .await?;
    let mut refreshed = 0;
    for conn in due {
        let id = conn.install_id;
        match refresh_install(state, conn, owner).await {
            Ok(RefreshOutcome::Refreshed) => refreshed += 1,
            Ok(RefreshOutcome::Skipped) => {}
            Ok(other) => {
                tracing::warn!(install = %id, outcome = other.as_str(), "OAuth refresh did not succeed")
            }
            Err(e) => tracing::error!(install = %id, error = %e, "OAuth refresh failed"),
        }
    }
    Ok(refreshed)
}

/// Refreshes one install now, on request (the API's and the UI's "Refresh
/// now"). Concurrent requests and workers still make one refresh.
pub async fn refresh_now(
    state: &AppState,
    merchant_id: Uuid,
    install_id: Uuid,
) -> AppResult<RefreshOutcome> {
    let inst = install::Entity::find_for_merchant(&state.db, merchant_id, install_id)
        .await?
        .ok_or_else(|| {
            AppError::IntegrationNotInstalled("No such install for this merchant.".into())
        })?;
    let conn = oauth_connection::Entity::find_for_merchant(&state.db, merchant_id, install_id)
        .await?
        .filter(|_| inst.auth_status != install::auth_status::NOT_CONNECTED);
    let Some(conn) = conn else {
        return Err(AppError::invalid(
            "This install is not connected yet; connect it first.",
        ));
    };
    if inst.auth_status == install::auth_status::NEEDS_RECONNECT {
        return Err(AppError::invalid(
            "This connection can no longer be refreshed; reconnect it.",
        ));
    }
    if conn.refresh_token.is_none() {
        return Err(AppError::invalid(
            "The provider issued no refresh token for this connection; it lasts until it expires or is revoked.",
        ));
    }
    refresh_install(state, conn, &format!("request:{}", Uuid::new_v4())).await
}

/// Refreshes `conn` if `owner` can take its lease at the version read.
pub async fn refresh_install(
    state: &AppState,
    conn: oauth_connection::Model,
    owner: &str,
) -> AppResult<RefreshOutcome> {
    let now = entity::now();
    let leased = oauth_connection::Entity::take_lease(
        &state.db,
        conn.install_id,
        conn.version,
        owner,
        now,
        now + state.oauth.lease,
    )
    .await?;
    if !leased {
        return Ok(RefreshOutcome::Skipped);
    }
    let outcome = call_provider(state, &conn).await;
    let result = match outcome {
        Ok(tokens) => {
            let keys = state.keys.current();
            if tokens::save_refreshed(
                &state.db,
                &keys,
                conn.install_id,
                conn.version,
                owner,
                &tokens,
            )
            .await?
            {
                tracing::info!(install = %conn.install_id, "OAuth tokens refreshed");
                Ok(RefreshOutcome::Refreshed)
            } else {
                Ok(RefreshOutcome::Skipped)
            }
        }
        Err(ProviderCallError::Refused(reason)) => {
            mark_needs_reconnect(state, &conn, &reason).await?;
            Ok(RefreshOutcome::NeedsReconnect(reason))
        }
        Err(ProviderCallError::Unavailable(reason)) => {
            let failures = conn.failures + 1;
            let expired = conn.expires_at.is_some_and(|t| t <= now);
            if failures >= MAX_TRANSIENT_FAILURES && expired {
                let reason = format!("{failures} refresh attempts failed: {reason}");
                mark_needs_reconnect(state, &conn, &reason).await?;
                Ok(RefreshOutcome::NeedsReconnect(reason))
            } else {
                record_failure(state, &conn, failures, &reason).await?;
                Ok(RefreshOutcome::WillRetry(reason))
            }
        }
    };
    oauth_connection::Entity::release_lease(&state.db, conn.install_id, owner).await?;
    result
}

async fn call_provider(
    state: &AppState,
    conn: &oauth_connection::Model,
) -> Result<TokenSet, ProviderCallError> {
    let internal = |what: &str| ProviderCallError::Unavailable(what.to_string());
    let inst = install::Entity::find_by_id(conn.install_id)
        .one(&state.db)
        .await
        .map_err(|_| internal("database unavailable"))?
        .ok_or_else(|| internal("install removed"))?;
    let integ = integration::Entity::find_by_id(inst.integration_slug.clone())
        .one(&state.db)
        .await
        .map_err(|_| internal("database unavailable"))?
        .ok_or_else(|| internal("integration missing from the catalog"))?;
    let provider = Provider::resolve(&state.oauth, &integ).map_err(|e| match e {
        // The operator removed the client: keep the tokens, say why.
        ResolveError::NotConfigured(_) | ResolveError::NotOAuth(_) => {
            ProviderCallError::Unavailable(e.to_string())
        }
    })?;
    let client = provider
        .client(&state.oauth.redirect_uri)
        .map_err(|_| internal("invalid provider endpoints"))?;
    let keys = state.keys.current();
    let sealed = conn
        .refresh_token
        .as_deref()
        .ok_or_else(|| ProviderCallError::Refused("no refresh token".into()))?;
    let refresh =
        tokens::open(&keys, sealed).map_err(|_| internal("cannot open the stored token"))?;
    let answer = client
        .exchange_refresh_token(&RefreshToken::new(refresh))
        .request_async(&state.oauth.http)
        .await?;
    Ok(TokenSet::from(&answer))
}

async fn mark_needs_reconnect(
    state: &AppState,
    conn: &oauth_connection::Model,
    reason: &str,
) -> AppResult<()> {
    use sea_orm::TransactionTrait;
    let txn = state.db.begin().await?;
    let current = oauth_connection::Entity::update_many()
        .col_expr(
            oauth_connection::Column::LastError,
            Expr::value(Some(reason.to_string())),
        )
        .col_expr(
            oauth_connection::Column::Failures,
            Expr::value(conn.failures + 1),
        )
        .filter(oauth_connection::Column::InstallId.eq(conn.install_id))
        .filter(oauth_connection::Column::Version.eq(conn.version))
        .exec(&txn)
        .await?;
    if current.rows_affected != 1 {
        // Reconnected meanwhile: the refusal was about the old tokens.
        txn.rollback().await?;
        return Ok(());
    }
    let changed = install::Entity::update_many()
        .col_expr(
            install::Column::AuthStatus,
            Expr::value(install::auth_status::NEEDS_RECONNECT),
        )
        .col_expr(install::Column::UpdatedAt, Expr::value(entity::now()))
        .filter(install::Column::Id.eq(conn.install_id))
        .filter(install::Column::AuthStatus.eq(install::auth_status::CONNECTED))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 1 {
        audit::record(
            &txn,
            Some(conn.merchant_id),
            Actor::System,
            "install.needs_reconnect",
            format!("install:{}", conn.install_id),
            Some(json!({ "auth_status": install::auth_status::CONNECTED })),
            Some(json!({ "auth_status": install::auth_status::NEEDS_RECONNECT, "reason": reason })),
        )
        .await?;
    }
    txn.commit().await?;
    tracing::warn!(install = %conn.install_id, reason, "OAuth connection needs reconnecting");
    Ok(())
}

async fn record_failure(
    state: &AppState,
    conn: &oauth_connection::Model,
    failures: i32,
    reason: &str,
) -> AppResult<()> {
    // 30 s, 1 min, 2 min, … up to an hour.
    let backoff = time::Duration::seconds((30i64 << (failures - 1).clamp(0, 7)).min(3600));
    oauth_connection::Entity::update_many()
        .col_expr(oauth_connection::Column::Failures, Expr::value(failures))
        .col_expr(
            oauth_connection::Column::LastError,
            Expr::value(Some(reason.to_string())),
        )
        .col_expr(
            oauth_connection::Column::RetryAfter,
            Expr::value(Some(entity::now() + backoff)),
        )
        .filter(oauth_connection::Column::InstallId.eq(conn.install_id))
        .filter(oauth_connection::Column::Version.eq(conn.version))
        .exec(&state.db)
        .await?;
    Ok(())
}
