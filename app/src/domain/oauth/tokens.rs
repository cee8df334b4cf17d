//! Sealing and storing OAuth tokens. Tokens are sealed with the key ring
//! before they reach the database and opened only to call the provider.
use entity::crypto::KeyRing;
use entity::{install, oauth_connection};
use oauth2::TokenResponse;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::{self, Actor};
use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};

/// Tokens as a provider answered them. `Debug` hides the tokens.
#[derive(Clone)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub token_type: String,
    /// Granted scopes, when the provider said.
    pub scopes: Option<String>,
    pub expires_in: Option<std::time::Duration>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("token_type", &self.token_type)
            .field("scopes", &self.scopes)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl From<&oauth2::basic::BasicTokenResponse> for TokenSet {
    fn from(t: &oauth2::basic::BasicTokenResponse) -> Self {
        TokenSet {
            access_token: t.access_token().secret().clone(),
            refresh_token: t.refresh_token().map(|r| r.secret().clone()),
            token_type: t.token_type().as_ref().to_string(),
            scopes: t
                .scopes()
                .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
            expires_in: t.expires_in(),
        }
    }
}

impl TokenSet {
    fn expires_at(&self, now: time::OffsetDateTime) -> Option<time::OffsetDateTime> {
        self.expires_in
            .and_then(|d| time::Duration::try_from(d).ok())
            .map(|d| now + d)
    }
}

/// Opens a sealed token.
pub fn open(keys: &KeyRing, sealed: &str) -> AppResult<String> {
    let bytes = keys.open(sealed).map_err(|e| {
        tracing::error!(error = %e, "cannot open a stored OAuth token");
        AppError::Internal
    })?;
    String::from_utf8(bytes).map_err(|_| AppError::Internal)
}

/// Stores the tokens of a finished Connect: any earlier connection of the
/// install is replaced, the install becomes `connected`, and the audit log
/// says so (scopes and expiry, never tokens).
pub async fn save_connected<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
    actor: Actor,
    merchant_id: Uuid,
    install_id: Uuid,
    tokens: &TokenSet,
    requested_scopes: &[String],
) -> AppResult<()> {
    let now = entity::now();
    let txn = db.begin().await?;
    let inst = install::Entity::find_for_merchant(&txn, merchant_id, install_id)
        .await?
        .ok_or_else(|| {
            AppError::IntegrationNotInstalled("No such install for this merchant.".into())
        })?;
    let previous = oauth_connection::Entity::find_by_id(install_id)
        .one(&txn)
        .await?;
    let version = previous.as_ref().map_or(1, |p| p.version + 1);
    if previous.is_some() {
        oauth_connection::Entity::delete_by_id(install_id)
            .exec(&txn)
            .await?;
    }
    let scopes = tokens
        .scopes
        .clone()
        .unwrap_or_else(|| requested_scopes.join(" "));
    let expires_at = tokens.expires_at(now);
    oauth_connection::ActiveModel {
        install_id: Set(install_id),
        merchant_id: Set(merchant_id),
        access_token: Set(keys.seal(tokens.access_token.as_bytes())),
        refresh_token: Set(tokens
            .refresh_token
            .as_ref()
            .map(|r| keys.seal(r.as_bytes()))),
        token_type: Set(tokens.token_type.clone()),
        scopes: Set(scopes.clone()),
        expires_at: Set(expires_at),
        connected_at: Set(now),
        refreshed_at: Set(None),
        version: Set(version),
        failures: Set(0),
        last_error: Set(None),
        retry_after: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
    }
    .insert(&txn)
    .await?;
    let before = inst.auth_status.clone();
    let mut active = inst.into_active_model();
    active.auth_status = Set(install::auth_status::CONNECTED.into());
    active.updated_at = Set(now);
    active.update(&txn).await?;
    audit::record(
        &txn,
        Some(merchant_id),
        actor,
        if before == install::auth_status::NEEDS_RECONNECT {
            "install.reconnected"
        } else {
            "install.connected"
        },
        format!("install:{install_id}"),
        Some(json!({ "auth_status": before })),
        Some(json!({
            "auth_status": install::auth_status::CONNECTED,
            "scopes": scopes,
            "expires_at": expires_at.map(rfc3339),
            "refresh_token": tokens.refresh_token.is_some(),
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Writes refreshed tokens, but only if the connection is still at
/// `version` and leased by `owner`; releases the lease. Answers whether the
/// write happened.
pub async fn save_refreshed<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    install_id: Uuid,
    version: i32,
    owner: &str,
    tokens: &TokenSet,
) -> AppResult<bool> {
    use oauth_connection::Column as C;
    let now = entity::now();
    let mut update = oauth_connection::Entity::update_many()
        .col_expr(
            C::AccessToken,
            Expr::value(keys.seal(tokens.access_token.as_bytes())),
        )
        .col_expr(C::TokenType, Expr::value(tokens.token_type.clone()))
        .col_expr(C::ExpiresAt, Expr::value(tokens.expires_at(now)))
        .col_expr(C::RefreshedAt, Expr::value(Some(now)))
        .col_expr(C::Version, Expr::value(version + 1))
        .col_expr(C::Failures, Expr::value(0))
        .col_expr(C::LastError, Expr::value(Option::<String>::None))
        .col_expr(
            C::RetryAfter,
            Expr::value(Option::<time::OffsetDateTime>::None),
        )
        .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            C::LeaseUntil,
            Expr::value(Option::<time::OffsetDateTime>::None),
        );
    // Providers that rotate refresh tokens send a new one; others keep the old.
    if let Some(rt) = &tokens.refresh_token {
        update = update.col_expr(C::RefreshToken, Expr::value(Some(keys.seal(rt.as_bytes()))));
    }
    if let Some(scopes) = &tokens.scopes {
        update = update.col_expr(C::Scopes, Expr::value(scopes.clone()));
    }
    let res = update
        .filter(C::InstallId.eq(install_id))
        .filter(C::Version.eq(version))
        .filter(C::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Re-seals every stored token under the primary key (after `keys rotate`).
pub async fn reseal_all<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
) -> AppResult<usize> {
    let txn = db.begin().await?;
    let mut count = 0;
    for m in oauth_connection::Entity::find().all(&txn).await? {
        let stale = !keys.is_current(&m.access_token)
            || m.refresh_token
                .as_deref()
                .is_some_and(|r| !keys.is_current(r));
        if !stale {
            continue;
        }
        let access = open(keys, &m.access_token)?;
        let refresh = match &m.refresh_token {
            Some(r) => Some(open(keys, r)?),
            None => None,
        };
        let mut active = m.into_active_model();
        active.access_token = Set(keys.seal(access.as_bytes()));
        active.refresh_token = Set(refresh.map(|r| keys.seal(r.as_bytes())));
        active.update(&txn).await?;
        count += 1;
    }
    txn.commit().await?;
    Ok(count)
}
