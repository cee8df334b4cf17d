//! POS status webhooks through a built-in transformer (seed 002): a POS
//! sends its own webhook shape to `/api/v1/inbound/{provider}/order-status`;
//! the provider's verifier checks it, the provider's `order_status_update`
//! script maps it to `{status, posOrderId}` (or skips it), and the order
//! status service applies the change. Adding a POS is one [`PosStatus`]
//! implementation, one entry in [`providers`], and one script.
use entity::crypto::KeyRing;
use entity::{install, location_external_id, order};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{json, Map, Value};

use crate::domain::inbound::verify::{self, AuthFailure, Digest, Encoding};

/// The script topic of POS status webhooks.
pub const TOPIC: &str = "order_status_update";

/// One POS's webhook scheme.
pub trait PosStatus: Send + Sync {
    /// The provider slug (the integration, the route, the script).
    fn provider(&self) -> &'static str;
    /// The header naming the event, and the one event that carries a
    /// status.
    fn event_header(&self) -> &'static str;
    fn status_event(&self) -> &'static str;
    /// The header naming the POS's store (resolved to an outlet).
    fn outlet_header(&self) -> &'static str;
    /// Checks the signature with the outlet's webhook secret.
    fn verify(
        &self,
        secret: &[u8],
        headers: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(), AuthFailure>;
}

/// Revel: HMAC-SHA1 over the raw body, hex, in `X-Revel-Signature`, with
/// the outlet's `webhook_secret` (Revel mandates SHA-1).
pub struct Revel;

impl PosStatus for Revel {
    fn provider(&self) -> &'static str {
        "revel"
    }

    fn event_header(&self) -> &'static str {
        "x-revel-event-type"
    }

    fn status_event(&self) -> &'static str {
        "order.finalized"
    }

    fn outlet_header(&self) -> &'static str {
        "x-revel-establishment-id"
    }

    fn verify(
        &self,
        secret: &[u8],
        headers: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(), AuthFailure> {
        verify::check(
            Digest::Sha1,
            Encoding::Hex,
            secret,
            body,
            headers("x-revel-signature").as_deref(),
        )
    }
}

/// Every POS with a status webhook.
pub fn providers() -> &'static [&'static dyn PosStatus] {
    &[&Revel]
}

/// The POS's scheme for `provider`.
pub fn find(provider: &str) -> Option<&'static dyn PosStatus> {
    providers()
        .iter()
        .copied()
        .find(|p| p.provider() == provider)
}

/// The outlet a POS store id names, with its install of the POS.
pub struct Outlet {
    pub install: install::Model,
    /// The install's settings, secrets included (for the script).
    pub settings: Map<String, Value>,
}

impl Outlet {
    /// The webhook secret, if the outlet has one configured.
    pub fn webhook_secret(&self) -> Option<&str> {
        self.settings
            .get("webhook_secret")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The script's input for one webhook payload.
    pub fn script_input(&self, payload: Value) -> Value {
        json!({
            "payload": payload,
            "outlet": {"id": self.install.location_id, "settings": self.settings},
        })
    }
}

/// Resolves the outlet from the POS's store id: the location whose
/// external id for this provider it is, else the install whose
/// `establishment_id` setting it is; the install must be enabled and for
/// that one location.
pub async fn outlet<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    provider: &str,
    store_id: &str,
) -> Result<Option<Outlet>, sea_orm::DbErr> {
    let installs: Vec<install::Model> = install::Entity::find()
        .filter(install::Column::IntegrationSlug.eq(provider))
        .filter(install::Column::Enabled.eq(true))
        .filter(install::Column::LocationId.is_not_null())
        .all(db)
        .await?;
    let mapped = location_external_id::Entity::find()
        .filter(location_external_id::Column::Provider.eq(provider))
        .filter(location_external_id::Column::ExternalId.eq(store_id))
        .one(db)
        .await?
        .map(|m| m.location_id);
    let found = installs.into_iter().find(|i| match mapped {
        Some(location) => i.location_id == Some(location),
        None => i
            .config
            .get("establishment_id")
            .is_some_and(|v| v.to_string().trim_matches('"') == store_id),
    });
    let Some(install) = found else {
        return Ok(None);
    };
    match crate::domain::installs::settings_with_secrets(keys, &install) {
        Ok(settings) => Ok(Some(Outlet { install, settings })),
        Err(e) => {
            tracing::error!(install = %install.id, error = %e, "cannot open a POS install's secrets");
            Ok(None)
        }
    }
}

/// The order the POS knows as `pos_order_id`, dispatched to it by this
/// merchant.
pub async fn order_by_pos_id<C: ConnectionTrait>(
    db: &C,
    merchant_id: uuid::Uuid,
    provider: &str,
    pos_order_id: &str,
) -> Result<Option<order::Model>, sea_orm::DbErr> {
    order::Entity::find()
        .filter(order::Column::ExternalOrderId.eq(pos_order_id))
        .filter(order::Column::ExternalProvider.eq(provider))
        .filter(order::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await
}
