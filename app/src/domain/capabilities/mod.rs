//! The capability dispatcher: a domain event at a location (an order paid,
//! a refund, settings changed) goes to the enabled installs whose
//! capabilities take it, through each integration's adapter. A replace-mode
//! capability goes to its one holder; an add-mode capability to its holders
//! in slot order, up to the cap. Disabled and uninstalled integrations are
//! never called: only enabled install rows are routed to.
//!
//! Adding an integration's behaviour is one adapter module plus one line
//! in [`adapters`].
use std::future::Future;
use std::pin::Pin;

use entity::crypto::KeyRing;
use entity::{capability, install, install_slot, integration_capability, order};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::AppResult;

pub mod consumer;
pub mod receipt_qr;

/// A domain event as adapters see it.
pub struct DomainEvent {
    /// `order.paid`, `refund.created`, `settings.changed`, …
    pub event_type: String,
    pub merchant_id: Uuid,
    pub location_id: Uuid,
    /// The order the event is about, if any.
    pub order: Option<order::Model>,
    pub payload: serde_json::Value,
}

/// What an adapter gets besides the event.
pub struct Context<'a> {
    pub db: &'a DatabaseTransaction,
    pub keys: &'a KeyRing,
    pub install: &'a install::Model,
}

/// What an adapter asks Plugboard to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Print this on the order's receipt.
    ReceiptAttachment {
        kind: String,
        label: String,
        content: String,
    },
}

/// A boxed future, so adapters can live in one registry.
pub type AdapterFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Option<Effect>>> + Send + 'a>>;

/// One integration's behaviour for one capability.
pub trait CapabilityAdapter: Send + Sync {
    /// The integration's slug.
    fn integration(&self) -> &'static str;
    /// The capability it fills.
    fn capability(&self) -> &'static str;
    /// Whether events of this type concern it.
    fn takes(&self, event_type: &str) -> bool;
    /// Handles one event for one install.
    fn handle<'a>(&'a self, ctx: &'a Context<'a>, event: &'a DomainEvent) -> AdapterFuture<'a>;
}

/// Every adapter Plugboard ships.
pub fn adapters() -> &'static [&'static dyn CapabilityAdapter] {
    &[&receipt_qr::SplitEasy, &receipt_qr::GoogleReviews]
}

/// The installs that take `capability` at `location_id`, in the order
/// their output is used, already limited by the capability's mode and cap.
pub async fn routed_installs<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Uuid,
    capability_slug: &str,
) -> AppResult<Vec<install::Model>> {
    let Some(cap) = capability::Entity::find_by_id(capability_slug.to_string())
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    let integrations: Vec<String> = integration_capability::Entity::find()
        .filter(integration_capability::Column::CapabilitySlug.eq(capability_slug))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.integration_slug)
        .collect();
    let mut installs: Vec<install::Model> = install::Entity::list_for_merchant(db, merchant_id)
        .await?
        .into_iter()
        .filter(|i| i.enabled)
        .filter(|i| i.location_id.is_none_or(|l| l == location_id))
        .filter(|i| integrations.contains(&i.integration_slug))
        .collect();
    let slots = install_slot::Entity::find()
        .filter(install_slot::Column::MerchantId.eq(merchant_id))
        .filter(install_slot::Column::LocationId.eq(location_id))
        .filter(install_slot::Column::Surface.eq(capability_slug))
        .all(db)
        .await?;
    let slot_of = |i: &install::Model| {
        slots
            .iter()
            .find(|s| s.install_id == i.id)
            .map(|s| s.slot)
            .unwrap_or(i32::MAX)
    };
    // Oldest first among equals (list_for_merchant's order; the sort is stable).
    installs.sort_by_key(|i| slot_of(i));
    let limit = if cap.mode == "replace" {
        1
    } else {
        cap.cap.map(|c| c.max(0) as usize).unwrap_or(usize::MAX)
    };
    installs.truncate(limit);
    Ok(installs)
}

/// Routes one event to every adapter that takes it; answers the effects in
/// capability order, then slot order. An adapter that errors is logged and
/// skipped: one partner's trouble never blocks another's.
pub async fn dispatch(
    db: &DatabaseTransaction,
    keys: &KeyRing,
    event: &DomainEvent,
) -> AppResult<Vec<(install::Model, Effect)>> {
    let mut effects = Vec::new();
    let mut capabilities: Vec<&'static str> = adapters()
        .iter()
        .filter(|a| a.takes(&event.event_type))
        .map(|a| a.capability())
        .collect();
    capabilities.sort();
    capabilities.dedup();
    for cap in capabilities {
        for install in routed_installs(db, event.merchant_id, event.location_id, cap).await? {
            let Some(adapter) = adapters()
                .iter()
                .find(|a| a.capability() == cap && a.integration() == install.integration_slug)
            else {
                tracing::debug!(integration = %install.integration_slug, capability = cap, "no adapter for this integration yet");
                continue;
            };
            let ctx = Context {
                db,
                keys,
                install: &install,
            };
            match adapter.handle(&ctx, event).await {
                Ok(Some(effect)) => effects.push((install.clone(), effect)),
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    integration = %install.integration_slug,
                    capability = cap,
                    error = %e,
                    "capability adapter failed; others go on"
                ),
            }
        }
    }
    Ok(effects)
}
