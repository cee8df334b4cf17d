//! The install lifecycle: install, configure, disable ⇄ enable, uninstall,
//! with mode conflicts and caps enforced by slot rows in the database.
//!
//! Scope rules (also in docs/installs.md):
//! - An install is for every location (`location_id` NULL) or for one.
//! - One integration is installed either once for every location or per
//!   location (at most once per location), never both: an all-locations
//!   install overlaps every location.
//! - A `replace` capability has one holder per location; an `add` capability
//!   with a cap has that many holders per location. Disabled installs keep
//!   their slots; only uninstall frees them.
//! - An all-locations install also holds slots on the "every location" row,
//!   so locations added later get its slots without conflict.
use std::collections::{HashMap, HashSet};

use entity::crypto::KeyRing;
use entity::{
    capability, install, install_slot, integration, integration_capability, location, merchant,
    oauth_connection,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::audit::{self, Actor};
use super::install_config as cfg;
use super::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::{
    Install, InstallInput, LocationSurfaces, OAuthConnection, Surface, SurfaceHolder,
};

/// The slot row standing for "every location".
pub const EVERY_LOCATION: Uuid = Uuid::nil();

fn integration_surface(slug: &str) -> String {
    format!("integration:{slug}")
}

/// Takes the merchant's install lock for the rest of the transaction.
async fn lock_merchant<C: ConnectionTrait>(db: &C, merchant_id: Uuid) -> AppResult<()> {
    merchant::Entity::update_many()
        .col_expr(
            merchant::Column::SlotVersion,
            Expr::col(merchant::Column::SlotVersion).add(1),
        )
        .filter(merchant::Column::Id.eq(merchant_id))
        .exec(db)
        .await?;
    Ok(())
}

struct Catalogued {
    integration: integration::Model,
    capabilities: Vec<capability::Model>,
}

async fn catalogued<C: ConnectionTrait>(db: &C, slug: &str) -> AppResult<Catalogued> {
    let integration = integration::Entity::find_by_id(slug.to_string())
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!("No integration named {slug:?} in the catalog."))
        })?;
    let slugs: Vec<String> = integration_capability::Entity::find()
        .filter(integration_capability::Column::IntegrationSlug.eq(slug))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.capability_slug)
        .collect();
    let capabilities = capability::Entity::find()
        .filter(capability::Column::Slug.is_in(slugs))
        .all(db)
        .await?;
    Ok(Catalogued {
        integration,
        capabilities,
    })
}

/// Names used in messages.
struct Names {
    integrations: HashMap<String, String>,
    locations: HashMap<Uuid, String>,
}

impl Names {
    async fn load<C: ConnectionTrait>(db: &C, merchant_id: Uuid) -> AppResult<Self> {
        let integrations = integration::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.slug, i.name))
            .collect();
        let locations = location::Entity::list_for_merchant(db, merchant_id)
            .await?
            .into_iter()
            .map(|l| (l.id, l.name))
            .collect();
        Ok(Names {
            integrations,
            locations,
        })
    }

    fn integration(&self, slug: &str) -> String {
        self.integrations
            .get(slug)
            .cloned()
            .unwrap_or_else(|| slug.to_string())
    }

    fn location(&self, id: Uuid) -> String {
        if id == EVERY_LOCATION {
            "every location".into()
        } else {
            self.locations
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "a location".into())
        }
    }

    fn scope(&self, location_id: Option<Uuid>) -> String {
        match location_id {
            None => "every location".into(),
            Some(id) => self.location(id),
        }
    }
}

/// Claims every slot `inst` needs at `location_id`, or explains who holds it.
async fn claim_at<C: ConnectionTrait>(
    db: &C,
    inst: &install::Model,
    caps: &[capability::Model],
    location_id: Uuid,
    names: &Names,
) -> AppResult<()> {
    let held: Vec<install_slot::Model> = install_slot::Entity::find()
        .filter(install_slot::Column::MerchantId.eq(inst.merchant_id))
        .filter(install_slot::Column::LocationId.eq(location_id))
        .all(db)
        .await?;
    let holders: HashMap<Uuid, install::Model> = {
        let ids: HashSet<Uuid> = held.iter().map(|s| s.install_id).collect();
        install::Entity::find()
            .filter(install::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect()
    };
    let holder_name = |slot: &install_slot::Model| {
        holders
            .get(&slot.install_id)
            .map(|h| names.integration(&h.integration_slug))
            .unwrap_or_default()
    };
    let me = names.integration(&inst.integration_slug);
    let here = names.location(location_id);

    let mut claims: Vec<(String, i32)> = Vec::new();
    let own = integration_surface(&inst.integration_slug);
    if let Some(slot) = held.iter().find(|s| s.surface == own) {
        let other = holders.get(&slot.install_id);
        let message = match other.map(|o| o.location_id) {
            Some(None) => format!(
                "{me} is already installed for every location. Change that install's settings, or uninstall it before installing {me} per location."
            ),
            _ if inst.location_id.is_none() => format!(
                "{me} is already installed for {here}. Uninstall the per-location installs of {me} before installing it for every location."
            ),
            _ => format!("{me} is already installed for {here}."),
        };
        return Err(AppError::Conflict(message));
    }
    claims.push((own, 0));

    for cap in caps {
        let taken: Vec<&install_slot::Model> =
            held.iter().filter(|s| s.surface == cap.slug).collect();
        if cap.mode == "replace" {
            if let Some(slot) = taken.first() {
                let holder = holder_name(slot);
                return Err(AppError::Conflict(format!(
                    "{holder} already holds {cap} (replace mode) at {here}, so {me} cannot take it over. \
                     Uninstall {holder} there to free it — a disabled integration keeps its slot.",
                    cap = cap.slug
                )));
            }
            claims.push((cap.slug.clone(), 0));
        } else if let Some(limit) = cap.cap {
            let used: HashSet<i32> = taken.iter().map(|s| s.slot).collect();
            match (0..limit).find(|n| !used.contains(n)) {
                Some(free) => claims.push((cap.slug.clone(), free)),
                None => {
                    let mut who: Vec<String> = taken.iter().map(|s| holder_name(s)).collect();
                    who.sort();
                    return Err(AppError::Conflict(format!(
                        "{cap} allows at most {limit} integrations per location, and {here} already has {}. \
                         Uninstall one of them to add {me}.",
                        who.join(", "),
                        cap = cap.slug
                    )));
                }
            }
        }
    }
    for (surface, slot) in claims {
        install_slot::ActiveModel {
            merchant_id: Set(inst.merchant_id),
            location_id: Set(location_id),
            surface: Set(surface),
            slot: Set(slot),
            install_id: Set(inst.id),
        }
        .insert(db)
        .await
        .map_err(|e| {
            super::conflict_on_unique(
                e,
                "Another change to these integrations happened at the same time. Try again.",
            )
        })?;
    }
    Ok(())
}

/// The locations an install takes effect at (for slots).
async fn effective_locations<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    Ok(match location_id {
        Some(id) => vec![id],
        None => {
            let mut all: Vec<Uuid> = location::Entity::list_for_merchant(db, merchant_id)
                .await?
                .into_iter()
                .map(|l| l.id)
                .collect();
            all.insert(0, EVERY_LOCATION);
            all
        }
    })
}

/// The install as the UI and API show it: no secret values.
fn to_wire(m: &install::Model, names: &Names, caps: Vec<String>, schema: &Value) -> Install {
    let secret_names = cfg::secret_fields(schema);
    Install {
        id: m.id,
        integration: m.integration_slug.clone(),
        integration_name: names.integration(&m.integration_slug),
        location_id: m.location_id,
        location_name: m.location_id.map(|id| names.location(id)),
        enabled: m.enabled,
        config: m.config.clone(),
        secrets_set: if m.secrets.is_some() {
            secret_names
        } else {
            Vec::new()
        },
        auth_status: m.auth_status.clone(),
        connection: None,
        capabilities: caps,
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
    }
}

/// The audit view of an install: settings and which secrets are set.
fn audit_view(m: &install::Model, secret_names: &[String]) -> Value {
    json!({
        "integration": m.integration_slug,
        "location_id": m.location_id,
        "enabled": m.enabled,
        "config": m.config,
        "secrets_set": if m.secrets.is_some() { secret_names.to_vec() } else { Vec::new() },
        "auth_status": m.auth_status,
    })
}

/// An install's settings with its sealed secrets opened and merged in, for
/// the code that talks to the integration (never for the browser).
pub fn settings_with_secrets(
    keys: &KeyRing,
    install: &install::Model,
) -> Result<Map<String, Value>, entity::crypto::CryptoError> {
    let mut settings = install.config.as_object().cloned().unwrap_or_default();
    if let Some(sealed) = &install.secrets {
        if let Value::Object(secrets) = keys.open_json(sealed)? {
            settings.extend(secrets);
        }
    }
    Ok(settings)
}

fn seal_secrets(keys: &KeyRing, secret: &Map<String, Value>) -> Option<String> {
    (!secret.is_empty()).then(|| keys.seal_json(&Value::Object(secret.clone())))
}

/// Installs an integration.
pub async fn install<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
    actor: Actor,
    merchant_id: Uuid,
    input: InstallInput,
) -> AppResult<Install> {
    let cat = catalogued(db, &input.integration).await?;
    if cat.integration.status != "available" {
        return Err(AppError::Conflict(format!(
            "{} is coming soon and cannot be installed yet.",
            cat.integration.name
        )));
    }
    if let Some(id) = input.location_id {
        location::Entity::find_for_merchant(db, merchant_id, id)
            .await?
            .ok_or_else(|| AppError::NotFound("No such location.".into()))?;
    }
    let schema = &cat.integration.config_schema;
    let mut submitted = Map::new();
    cfg::apply(&mut submitted, cfg::normalise(schema, input.config)?, false);
    let config = cfg::with_defaults(schema, submitted);
    cfg::validate(schema, &config)?;
    let split = cfg::split(schema, config);
    let oauth = cat.integration.auth_shape == "oauth";

    let txn = db.begin().await?;
    lock_merchant(&txn, merchant_id).await?;
    let names = Names::load(&txn, merchant_id).await?;
    let now = entity::now();
    let model = install::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant_id),
        integration_slug: Set(cat.integration.slug.clone()),
        location_id: Set(input.location_id),
        scope: Set(input
            .location_id
            .map_or_else(|| install::SCOPE_ALL.to_string(), |id| id.to_string())),
        enabled: Set(true),
        config: Set(Value::Object(split.plain.clone())),
        secrets: Set(seal_secrets(keys, &split.secret)),
        auth_status: Set(if oauth {
            install::auth_status::NOT_CONNECTED
        } else {
            install::auth_status::NOT_REQUIRED
        }
        .to_string()),
        created_by: Set(match actor {
            Actor::User(id) => Some(id),
            _ => None,
        }),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        super::conflict_on_unique(
            e,
            &format!(
                "{} is already installed for {}.",
                cat.integration.name,
                names.scope(input.location_id)
            ),
        )
    })?;
    for loc in effective_locations(&txn, merchant_id, input.location_id).await? {
        claim_at(&txn, &model, &cat.capabilities, loc, &names).await?;
    }
    let secret_names = cfg::secret_fields(schema);
    audit::record(
        &txn,
        Some(merchant_id),
        actor,
        "install.created",
        format!("install:{}", model.id),
        None,
        Some(audit_view(&model, &secret_names)),
    )
    .await?;
    txn.commit().await?;
    let caps = cat.capabilities.iter().map(|c| c.slug.clone()).collect();
    Ok(to_wire(&model, &names, caps, schema))
}

async fn find<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<install::Model> {
    install::Entity::find_for_merchant(db, merchant_id, id)
        .await?
        .ok_or_else(|| {
            AppError::IntegrationNotInstalled("No such install for this merchant.".into())
        })
}

/// One install of the merchant.
pub async fn get<C: ConnectionTrait>(db: &C, merchant_id: Uuid, id: Uuid) -> AppResult<Install> {
    let m = find(db, merchant_id, id).await?;
    let cat = catalogued(db, &m.integration_slug).await?;
    let names = Names::load(db, merchant_id).await?;
    let caps = cat.capabilities.iter().map(|c| c.slug.clone()).collect();
    let mut out = vec![to_wire(&m, &names, caps, &cat.integration.config_schema)];
    attach_connections(db, merchant_id, &mut out).await?;
    Ok(out.remove(0))
}

/// Fills in the OAuth connection of each install that has one.
async fn attach_connections<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    installs: &mut [Install],
) -> AppResult<()> {
    let connections: HashMap<Uuid, oauth_connection::Model> = oauth_connection::Entity::find()
        .filter(oauth_connection::Column::MerchantId.eq(merchant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.install_id, c))
        .collect();
    for i in installs.iter_mut() {
        i.connection = connections.get(&i.id).map(|c| OAuthConnection {
            scopes: c.scopes.clone(),
            expires_at: c.expires_at.map(rfc3339),
            connected_at: rfc3339(c.connected_at),
            refreshed_at: c.refreshed_at.map(rfc3339),
            refreshable: c.refresh_token.is_some(),
            last_error: c.last_error.clone(),
        });
    }
    Ok(())
}

/// Every install of the merchant.
pub async fn list<C: ConnectionTrait>(db: &C, merchant_id: Uuid) -> AppResult<Vec<Install>> {
    let names = Names::load(db, merchant_id).await?;
    let links = integration_capability::Entity::find().all(db).await?;
    let schemas: HashMap<String, Value> = integration::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.slug, i.config_schema))
        .collect();
    let mut out: Vec<Install> = install::Entity::list_for_merchant(db, merchant_id)
        .await?
        .iter()
        .map(|m| {
            let caps = links
                .iter()
                .filter(|l| l.integration_slug == m.integration_slug)
                .map(|l| l.capability_slug.clone())
                .collect();
            let schema = schemas
                .get(&m.integration_slug)
                .cloned()
                .unwrap_or(Value::Null);
            to_wire(m, &names, caps, &schema)
        })
        .collect();
    attach_connections(db, merchant_id, &mut out).await?;
    Ok(out)
}

/// Changes an install's configuration. Secret fields left out (or empty)
/// keep their stored value; sending one replaces it.
pub async fn configure<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
    actor: Actor,
    merchant_id: Uuid,
    id: Uuid,
    submitted: Value,
) -> AppResult<Install> {
    let txn = db.begin().await?;
    lock_merchant(&txn, merchant_id).await?;
    let current = find(&txn, merchant_id, id).await?;
    let cat = catalogued(&txn, &current.integration_slug).await?;
    let schema = &cat.integration.config_schema;
    let normalised = cfg::normalise(schema, submitted)?;
    let changed: Vec<String> = normalised.keys().cloned().collect();
    let incoming = cfg::split(schema, normalised);
    let mut secret = match &current.secrets {
        Some(sealed) => match keys.open_json(sealed) {
            Ok(Value::Object(m)) => m,
            Ok(_) | Err(_) => {
                tracing::error!(install = %id, "stored secrets cannot be opened");
                return Err(AppError::Internal);
            }
        },
        None => Map::new(),
    };
    cfg::apply(&mut secret, incoming.secret, true);
    let mut plain = current.config.as_object().cloned().unwrap_or_default();
    cfg::apply(&mut plain, incoming.plain, false);
    let merged = cfg::with_defaults(schema, cfg::SplitConfig { plain, secret }.merged());
    cfg::validate(schema, &merged)?;
    let split = cfg::split(schema, merged);
    let secret_names = cfg::secret_fields(schema);
    let before = audit_view(&current, &secret_names);
    let mut active = current.into_active_model();
    active.config = Set(Value::Object(split.plain));
    active.secrets = Set(seal_secrets(keys, &split.secret));
    active.updated_at = Set(entity::now());
    let updated = active.update(&txn).await?;
    audit::record(
        &txn,
        Some(merchant_id),
        actor,
        "install.configured",
        format!("install:{id}"),
        Some(before),
        Some(audit_view(&updated, &secret_names)),
    )
    .await?;
    announce_settings(&txn, &updated, changed).await?;
    let names = Names::load(&txn, merchant_id).await?;
    txn.commit().await?;
    let caps = cat.capabilities.iter().map(|c| c.slug.clone()).collect();
    Ok(to_wire(&updated, &names, caps, schema))
}

/// Outbox topic of install events.
pub const TOPIC: &str = "installs.events";

/// Announces `settings.changed` for a reconfigured install: on the outbox
/// (the capability dispatcher reads it) and to the webhook endpoints that
/// take it. Names the fields that were set, never their values.
async fn announce_settings<C: ConnectionTrait>(
    db: &C,
    install: &install::Model,
    changed: Vec<String>,
) -> AppResult<()> {
    let now = entity::now();
    let event = serde_json::json!({
        "event": "settings.changed",
        "installId": install.id,
        "integration": install.integration_slug,
        "outletId": install.location_id,
        "changed": changed,
        "at": super::rfc3339(now),
    });
    entity::outbox::ActiveModel {
        topic: Set(TOPIC.into()),
        kind: Set("event".into()),
        merchant_id: Set(install.merchant_id),
        key: Set(install.id.to_string()),
        payload: Set(event.clone()),
        source_event_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let body = serde_json::to_vec(&event).map_err(|_| AppError::Internal)?;
    super::outbound::deliveries::enqueue_for_event(
        db,
        install.merchant_id,
        install.location_id,
        "settings.changed",
        None,
        &body,
    )
    .await?;
    Ok(())
}

/// Disables or re-enables an install; the config and slots stay.
pub async fn set_enabled<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    id: Uuid,
    enabled: bool,
) -> AppResult<Install> {
    let txn = db.begin().await?;
    let current = find(&txn, merchant_id, id).await?;
    if current.enabled != enabled {
        let mut active = current.clone().into_active_model();
        active.enabled = Set(enabled);
        active.updated_at = Set(entity::now());
        active.update(&txn).await?;
        audit::record(
            &txn,
            Some(merchant_id),
            actor,
            if enabled {
                "install.enabled"
            } else {
                "install.disabled"
            },
            format!("install:{id}"),
            Some(json!({"enabled": current.enabled})),
            Some(json!({"enabled": enabled})),
        )
        .await?;
    }
    txn.commit().await?;
    get(db, merchant_id, id).await
}

/// Uninstalls: the install row, its config, secrets and slots are erased.
pub async fn uninstall<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<()> {
    let txn = db.begin().await?;
    lock_merchant(&txn, merchant_id).await?;
    let current = find(&txn, merchant_id, id).await?;
    let schema = integration::Entity::find_by_id(current.integration_slug.clone())
        .one(&txn)
        .await?
        .map(|i| i.config_schema)
        .unwrap_or(Value::Null);
    install_slot::Entity::delete_many()
        .filter(install_slot::Column::InstallId.eq(id))
        .exec(&txn)
        .await?;
    install::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        Some(merchant_id),
        actor,
        "install.uninstalled",
        format!("install:{id}"),
        Some(audit_view(&current, &cfg::secret_fields(&schema))),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives a new location the slots of every all-locations install. Called in
/// the transaction that creates the location; the "every location" slots
/// guarantee these claims fit.
pub async fn claim_for_new_location<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Uuid,
) -> AppResult<()> {
    lock_merchant(db, merchant_id).await?;
    let all: Vec<install::Model> = install::Entity::list_for_merchant(db, merchant_id)
        .await?
        .into_iter()
        .filter(|i| i.location_id.is_none())
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    let names = Names::load(db, merchant_id).await?;
    for inst in all {
        let cat = catalogued(db, &inst.integration_slug).await?;
        claim_at(db, &inst, &cat.capabilities, location_id, &names).await?;
    }
    Ok(())
}

/// Removes a location's installs and slots (inside the location's delete).
pub async fn release_location<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    location_id: Uuid,
) -> AppResult<()> {
    lock_merchant(db, merchant_id).await?;
    install_slot::Entity::delete_many()
        .filter(install_slot::Column::MerchantId.eq(merchant_id))
        .filter(install_slot::Column::LocationId.eq(location_id))
        .exec(db)
        .await?;
    let scoped: Vec<install::Model> = install::Entity::find()
        .filter(install::Column::MerchantId.eq(merchant_id))
        .filter(install::Column::LocationId.eq(location_id))
        .all(db)
        .await?;
    for inst in scoped {
        install_slot::Entity::delete_many()
            .filter(install_slot::Column::InstallId.eq(inst.id))
            .exec(db)
            .await?;
        install::Entity::delete_by_id(inst.id).exec(db).await?;
        audit::record(
            db,
            Some(merchant_id),
            actor,
            "install.uninstalled",
            format!("install:{}", inst.id),
            Some(json!({"integration": inst.integration_slug, "location_id": location_id, "reason": "location removed"})),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Every capability at a location and the installs that fill it.
pub async fn surfaces<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Uuid,
) -> AppResult<LocationSurfaces> {
    let loc = location::Entity::find_for_merchant(db, merchant_id, location_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such location.".into()))?;
    let names = Names::load(db, merchant_id).await?;
    let effective: Vec<install::Model> = install::Entity::list_for_merchant(db, merchant_id)
        .await?
        .into_iter()
        .filter(|i| i.location_id.is_none_or(|l| l == location_id))
        .collect();
    let links = integration_capability::Entity::find().all(db).await?;
    let caps = capability::Entity::find().all(db).await?;
    let mut surfaces: Vec<Surface> = caps
        .iter()
        .map(|c| Surface {
            capability: super::catalog::capability_to_wire(c),
            holders: effective
                .iter()
                .filter(|i| {
                    links.iter().any(|l| {
                        l.integration_slug == i.integration_slug && l.capability_slug == c.slug
                    })
                })
                .map(|i| SurfaceHolder {
                    install_id: i.id,
                    integration: i.integration_slug.clone(),
                    integration_name: names.integration(&i.integration_slug),
                    enabled: i.enabled,
                    every_location: i.location_id.is_none(),
                })
                .collect(),
        })
        .collect();
    surfaces.sort_by(|a, b| a.capability.slug.cmp(&b.capability.slug));
    Ok(LocationSurfaces {
        location_id: loc.id,
        location_name: loc.name,
        surfaces,
    })
}

/// Re-seals every stored secret under the key ring's primary key; answers
/// how many values were re-sealed.
pub async fn reseal_all<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
) -> AppResult<usize> {
    let txn = db.begin().await?;
    let mut count = 0;
    for m in install::Entity::find()
        .filter(install::Column::Secrets.is_not_null())
        .all(&txn)
        .await?
    {
        let Some(sealed) = &m.secrets else { continue };
        if keys.is_current(sealed) {
            continue;
        }
        let value = keys.open_json(sealed).map_err(|e| {
            tracing::error!(install = %m.id, error = %e, "cannot open stored secrets");
            AppError::Internal
        })?;
        let mut active = m.into_active_model();
        active.secrets = Set(Some(keys.seal_json(&value)));
        active.update(&txn).await?;
        count += 1;
    }
    txn.commit().await?;
    Ok(count)
}

/// A short-lived JWT for a `platform_shared` install, for `capability`.
pub async fn platform_token<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    merchant_id: Uuid,
    id: Uuid,
    capability: &str,
) -> AppResult<(String, super::platform_jwt::Claims)> {
    let inst = find(db, merchant_id, id).await?;
    let cat = catalogued(db, &inst.integration_slug).await?;
    if !inst.enabled {
        return Err(AppError::IntegrationDisabled(format!(
            "{} is disabled; enable it to use it.",
            cat.integration.name
        )));
    }
    if !cat.capabilities.iter().any(|c| c.slug == capability) {
        return Err(AppError::CapabilityUnsupported(format!(
            "{} does not provide the capability {capability:?}.",
            cat.integration.name
        )));
    }
    super::platform_jwt::sign(
        db,
        keys,
        &inst.integration_slug,
        merchant_id,
        inst.location_id,
        capability,
    )
    .await
}
