//! The gateway factory: the payment providers a location charges through,
//! in the order they are tried. Each enabled install of a payment provider
//! at the location (or for every location) is one gateway; an install's
//! `priority` setting orders them (lower first), else Midtrans comes before
//! Xendit.
use entity::crypto::KeyRing;
use entity::install;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{find, PaymentProvider};
use crate::error::{AppError, AppResult};

/// One provider, ready to charge with its install's credentials.
pub struct Gateway {
    pub provider: &'static dyn PaymentProvider,
    pub install: install::Model,
    /// The install's settings, secrets included.
    pub settings: Map<String, Value>,
    pub priority: i64,
}

/// The install's settings with its secrets opened.
fn settings_of(keys: &KeyRing, install: &install::Model) -> AppResult<Map<String, Value>> {
    crate::domain::installs::settings_with_secrets(keys, install).map_err(|e| {
        tracing::error!(install = %install.id, error = %e, "cannot open a payment install's secrets");
        AppError::Internal
    })
}

/// The gateways of `location_id`, in the order a charge tries them.
pub async fn for_location<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    merchant_id: Uuid,
    location_id: Uuid,
) -> AppResult<Vec<Gateway>> {
    let mut gateways = Vec::new();
    for install in install::Entity::list_for_merchant(db, merchant_id).await? {
        let Some(provider) = find(&install.integration_slug) else {
            continue;
        };
        if !install.enabled || install.location_id.is_some_and(|l| l != location_id) {
            continue;
        }
        let settings = settings_of(keys, &install)?;
        let priority = settings
            .get("priority")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| provider.default_priority());
        gateways.push(Gateway {
            provider,
            install,
            settings,
            priority,
        });
    }
    // A location's own install goes before a merchant-wide one of the same
    // priority.
    gateways.sort_by_key(|g| {
        (
            g.priority,
            g.install.location_id.is_none(),
            g.provider.default_priority(),
        )
    });
    Ok(gateways)
}

/// The gateway of one install (verifying a notification for a payment it
/// created), if it is still a payment install.
pub async fn for_install<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    install_id: Uuid,
) -> AppResult<Option<Gateway>> {
    let Some(install) = install::Entity::find_by_id(install_id).one(db).await? else {
        return Ok(None);
    };
    let Some(provider) = find(&install.integration_slug) else {
        return Ok(None);
    };
    let settings = settings_of(keys, &install)?;
    Ok(Some(Gateway {
        provider,
        priority: provider.default_priority(),
        install,
        settings,
    }))
}
