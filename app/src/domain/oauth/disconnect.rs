//! Disconnect: revoke the tokens where the provider supports RFC 7009, then
//! forget them. Uninstall revokes the same way before erasing the install.
use entity::{install, integration, oauth_connection};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::flow::load;
use super::provider::Provider;
use super::tokens;
use crate::domain::audit::{self, Actor};
use crate::domain::AppState;
use crate::error::AppResult;

/// Disconnects an install: tokens revoked at the provider (when it has a
/// revocation endpoint) and deleted; the install becomes `not_connected`.
/// Answers whether the provider confirmed the revocation.
pub async fn disconnect(
    state: &AppState,
    actor: Actor,
    merchant_id: Uuid,
    install_id: Uuid,
) -> AppResult<bool> {
    let (inst, integ) = load(state, merchant_id, install_id).await?;
    let conn =
        oauth_connection::Entity::find_for_merchant(&state.db, merchant_id, install_id).await?;
    let revoked = match &conn {
        Some(c) => revoke(state, &integ, c).await,
        None => false,
    };
    let txn = state.db.begin().await?;
    oauth_connection::Entity::delete_by_id(install_id)
        .exec(&txn)
        .await?;
    let before = inst.auth_status.clone();
    if integ.auth_shape == "oauth" {
        let mut active = inst.into_active_model();
        active.auth_status = Set(install::auth_status::NOT_CONNECTED.into());
        active.updated_at = Set(entity::now());
        active.update(&txn).await?;
    }
    audit::record(
        &txn,
        Some(merchant_id),
        actor,
        "install.disconnected",
        format!("install:{install_id}"),
        Some(json!({ "auth_status": before })),
        Some(json!({ "auth_status": install::auth_status::NOT_CONNECTED, "revoked": revoked })),
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Revokes an install's tokens before it is uninstalled (best effort: the
/// uninstall goes ahead whatever the provider says).
pub async fn revoke_before_uninstall(state: &AppState, merchant_id: Uuid, install_id: Uuid) {
    let Ok((_, integ)) = load(state, merchant_id, install_id).await else {
        return;
    };
    if let Ok(Some(conn)) =
        oauth_connection::Entity::find_for_merchant(&state.db, merchant_id, install_id).await
    {
        revoke(state, &integ, &conn).await;
    }
}

/// Revokes the refresh token, then the access token. Answers whether the
/// provider accepted the revocation; failures are logged, not raised.
async fn revoke(
    state: &AppState,
    integ: &integration::Model,
    conn: &oauth_connection::Model,
) -> bool {
    let Ok(provider) = Provider::resolve(&state.oauth, integ) else {
        return false;
    };
    if provider.revocation_url.is_none() {
        return false;
    }
    let keys = state.keys.current();
    let mut wanted = Vec::new();
    if let Some(rt) = conn
        .refresh_token
        .as_deref()
        .and_then(|s| tokens::open(&keys, s).ok())
    {
        wanted.push((rt, "refresh_token"));
    }
    if let Ok(at) = tokens::open(&keys, &conn.access_token) {
        wanted.push((at, "access_token"));
    }
    let mut all_ok = !wanted.is_empty();
    for (token, hint) in wanted {
        if let Err(e) = provider.revoke(&state.oauth.http, &token, hint).await {
            tracing::warn!(install = %conn.install_id, error = %e, "OAuth revocation failed");
            all_ok = false;
        }
    }
    all_ok
}
