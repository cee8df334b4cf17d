//! The support console's domain: inbound events across merchants with
//! filters, one event in full, replays (single and bulk, audited), the
//! mapping fixes a failure calls for, refused-delivery counts, and JS
//! transformer versions. Callers check the support role first.
use std::collections::{BTreeMap, HashMap};

use entity::{
    adapter_script, inbound_auth_failure, inbound_event, item_mapping, location, merchant,
    provider_connection, store_mapping,
};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::audit::{self, Actor};
use super::inbound::adapter::{Family, SourceCommand, Topic};
use super::inbound::processor::{self, Pipeline, PARTNER_FAMILY};
use super::inbound::transform::{self, Transformed};
use super::inbound::{connections, read_models, registry};
use super::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::{
    AuthFailureCount, ItemMapping, LocationCatalog, LocationRef, ReplayReport, ScriptTrial,
    ScriptVersion, StoreMapping, SupportEvent, SupportEventDetail,
};

/// Events one bulk replay takes at most.
pub const BULK_REPLAY_MAX: u64 = 500;
/// Bodies longer than this are cut in the detail view.
const BODY_SHOWN: usize = 256 * 1024;

/// The console's filters, as typed (all optional).
#[derive(Clone, Debug, Default)]
pub struct FilterInput {
    pub status: Option<String>,
    pub class: Option<String>,
    pub provider: Option<String>,
    /// A merchant id, or part of its name.
    pub merchant: Option<String>,
    /// A location id, or part of its name.
    pub location: Option<String>,
    /// RFC 3339 time or `YYYY-MM-DD` (start of day, UTC).
    pub since: Option<String>,
    pub until: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_time(field: &str, raw: &str, end_of_day: bool) -> AppResult<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw, &fmt).map_err(|_| {
        AppError::field(
            field,
            format!("{raw:?} is not a date (YYYY-MM-DD) or an RFC 3339 time."),
        )
    })?;
    let t = date.midnight().assume_utc();
    Ok(if end_of_day {
        t + time::Duration::days(1)
    } else {
        t
    })
}

/// Case-insensitive "contains" on a name column.
fn name_contains<C: sea_orm::ColumnTrait>(col: C, needle: &str) -> sea_orm::sea_query::SimpleExpr {
    let pattern = format!(
        "%{}%",
        needle
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    Expr::expr(Func::lower(Expr::col(col)))
        .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\'))
}

/// Builds the condition; names are resolved to ids first.
async fn condition<C: ConnectionTrait>(db: &C, f: &FilterInput) -> AppResult<Condition> {
    let mut c = Condition::all();
    if let Some(s) = given(&f.status) {
        if !["received", "processed", "skipped", "failed", "duplicate"].contains(&s) {
            return Err(AppError::field("status", format!("Unknown status {s:?}.")));
        }
        c = c.add(inbound_event::Column::Status.eq(s));
    }
    if let Some(s) = given(&f.class) {
        if !["mapping", "validation", "processing", "duplicate"].contains(&s) {
            return Err(AppError::field(
                "class",
                format!("Unknown failure class {s:?}."),
            ));
        }
        c = c.add(inbound_event::Column::FailureClass.eq(s));
    }
    if let Some(p) = given(&f.provider) {
        c = c.add(inbound_event::Column::Provider.eq(p));
    }
    if let Some(m) = given(&f.merchant) {
        let ids: Vec<Uuid> = match m.parse::<Uuid>() {
            Ok(id) => vec![id],
            Err(_) => merchant::Entity::find()
                .filter(name_contains(merchant::Column::Name, m))
                .limit(200)
                .all(db)
                .await?
                .into_iter()
                .map(|m| m.id)
                .collect(),
        };
        c = c.add(inbound_event::Column::MerchantId.is_in(ids));
    }
    if let Some(l) = given(&f.location) {
        let ids: Vec<Uuid> = match l.parse::<Uuid>() {
            Ok(id) => vec![id],
            Err(_) => location::Entity::find()
                .filter(name_contains(location::Column::Name, l))
                .limit(500)
                .all(db)
                .await?
                .into_iter()
                .map(|l| l.id)
                .collect(),
        };
        c = c.add(inbound_event::Column::LocationId.is_in(ids));
    }
    if let Some(s) = given(&f.since) {
        c = c.add(inbound_event::Column::ReceivedAt.gte(parse_time("since", s, false)?));
    }
    if let Some(u) = given(&f.until) {
        c = c.add(inbound_event::Column::ReceivedAt.lt(parse_time("until", u, true)?));
    }
    Ok(c)
}

async fn rows<C: ConnectionTrait>(
    db: &C,
    events: Vec<inbound_event::Model>,
) -> AppResult<Vec<SupportEvent>> {
    let merchant_ids: Vec<Uuid> = events.iter().map(|e| e.merchant_id).collect();
    let location_ids: Vec<Uuid> = events.iter().filter_map(|e| e.location_id).collect();
    let merchants: HashMap<Uuid, String> = merchant::Entity::find()
        .filter(merchant::Column::Id.is_in(merchant_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let locations: HashMap<Uuid, String> = location::Entity::find()
        .filter(location::Column::Id.is_in(location_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    Ok(events
        .into_iter()
        .map(|e| SupportEvent {
            merchant_name: merchants.get(&e.merchant_id).cloned().unwrap_or_default(),
            location_name: e.location_id.and_then(|l| locations.get(&l).cloned()),
            merchant_id: e.merchant_id,
            attempts: e.attempts,
            event: connections::summary(e),
        })
        .collect())
}

/// Events across merchants, newest first; failed ones unless a status is given.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &FilterInput,
    limit: u64,
) -> AppResult<Vec<SupportEvent>> {
    let mut filter = filter.clone();
    if given(&filter.status).is_none() {
        filter.status = Some(inbound_event::status::FAILED.into());
    }
    let events = inbound_event::Entity::find()
        .filter(condition(db, &filter).await?)
        .order_by_desc(inbound_event::Column::Id)
        .limit(limit.clamp(1, 500))
        .all(db)
        .await?;
    rows(db, events).await
}

async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<inbound_event::Model> {
    inbound_event::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such inbound event.".into()))
}

fn family(name: &str) -> Option<Family> {
    match name {
        "pos" => Some(Family::Pos),
        "erp" => Some(Family::Erp),
        "seller" => Some(Family::Seller),
        _ => None,
    }
}

/// One event in full: headers, body, and what its body says now.
pub async fn detail<C: ConnectionTrait>(
    db: &C,
    pipeline: &Pipeline,
    id: Uuid,
) -> AppResult<SupportEventDetail> {
    let event = find(db, id).await?;
    let body = pipeline.blobs.get(&event.blob_key).await.map_err(|e| {
        tracing::error!(event = %id, error = %e, "raw payload unreadable");
        AppError::Unavailable("The raw payload cannot be read right now.".into())
    })?;
    let (mut parsed_store, mut skus, mut parse_error) = (None, Vec::new(), None);
    let adapter = family(&event.family).and_then(|f| registry::find(f, &event.provider));
    match (adapter, Topic::parse(&event.topic)) {
        (Some(adapter), Some(topic)) => {
            let account = account_of(db, &event).await?;
            let input = || {
                transform::script_input(
                    &event.provider,
                    topic,
                    account.as_deref(),
                    &event.headers,
                    &body,
                )
            };
            match transform::transform(adapter, &pipeline.transformers, topic, input, &body).await {
                Ok(Transformed::Parsed(p)) => {
                    parsed_store = p.store;
                    for c in p.commands {
                        if let Some(sku) = sku_of(&c) {
                            if !skus.contains(&sku) {
                                skus.push(sku);
                            }
                        }
                    }
                }
                Ok(Transformed::Skip(reason)) => parse_error = Some(format!("skipped: {reason}")),
                Err(e) => parse_error = Some(e.to_string()),
            }
        }
        _ if event.family == PARTNER_FAMILY => {}
        _ if event.family == crate::domain::payments::FAMILY => {
            if let Err(e) = crate::domain::payments::notify::read(db, &event.provider, &body).await
            {
                parse_error = Some(format!("{e:?}"));
            }
        }
        _ => parse_error = Some(format!("no adapter {}/{}", event.family, event.provider)),
    }
    let locations: Vec<LocationRef> = location::Entity::list_for_merchant(db, event.merchant_id)
        .await?
        .into_iter()
        .map(|l| LocationRef {
            id: l.id,
            name: l.name,
        })
        .collect();
    let mapped_store = match &parsed_store {
        Some(s) => store_mapping::Entity::find()
            .filter(store_mapping::Column::MerchantId.eq(event.merchant_id))
            .filter(store_mapping::Column::Provider.eq(event.provider.clone()))
            .filter(store_mapping::Column::ProviderStoreId.eq(s.clone()))
            .one(db)
            .await?
            .and_then(|m| locations.iter().find(|l| l.id == m.location_id).cloned()),
        None => None,
    };
    let mapped_skus = item_mapping::Entity::find()
        .filter(item_mapping::Column::MerchantId.eq(event.merchant_id))
        .filter(item_mapping::Column::Provider.eq(event.provider.clone()))
        .filter(item_mapping::Column::ProviderSku.is_in(skus.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.provider_sku)
        .collect();
    let creates_items = provider_connection::Entity::find_by_id(event.connection_id)
        .one(db)
        .await?
        .is_some_and(|c| c.allow_new_items);
    let headers = serde_json::to_string_pretty(&event.headers).unwrap_or_default();
    let body_truncated = body.len() > BODY_SHOWN;
    let shown = &body[..body.len().min(BODY_SHOWN)];
    let processed_at = event.processed_at.map(rfc3339);
    let row = rows(db, vec![event]).await?.remove(0);
    Ok(SupportEventDetail {
        row,
        headers,
        body: String::from_utf8_lossy(shown).into_owned(),
        body_truncated,
        parsed_store,
        skus,
        parse_error,
        locations,
        creates_items,
        mapped_store,
        mapped_skus,
        processed_at,
    })
}

/// The provider account of the event's connection (what scripts see as
/// `input.account`), if the connection still exists.
async fn account_of<C: ConnectionTrait>(
    db: &C,
    event: &inbound_event::Model,
) -> AppResult<Option<String>> {
    Ok(provider_connection::Entity::find_by_id(event.connection_id)
        .one(db)
        .await?
        .map(|c| c.account_id))
}

fn sku_of(c: &SourceCommand) -> Option<String> {
    match c {
        SourceCommand::Item { sku, .. }
        | SourceCommand::Variant { sku, .. }
        | SourceCommand::Availability { sku, .. }
        | SourceCommand::StockDelta { sku, .. }
        | SourceCommand::StockLevel { sku, .. }
        | SourceCommand::Price { sku, .. } => Some(sku.clone()),
        SourceCommand::StoreStatus { .. } => None,
    }
}

/// Replays one event (support's Replay), audited on the event's merchant.
pub async fn replay(
    db: &sea_orm::DatabaseConnection,
    pipeline: &Pipeline,
    actor: Actor,
    id: Uuid,
) -> AppResult<SupportEvent> {
    let event = find(db, id).await?;
    let after = processor::replay(db, pipeline, event.merchant_id, id).await?;
    audit::record(
        db,
        Some(event.merchant_id),
        actor,
        "inbound_event.replayed",
        format!("inbound_event:{id}"),
        Some(serde_json::json!({"status": event.status, "class": event.failure_class})),
        Some(serde_json::json!({"status": after.status, "class": after.failure_class})),
    )
    .await?;
    Ok(rows(db, vec![after]).await?.remove(0))
}

/// Replays every failed event matching the filter (oldest first, at most
/// [`BULK_REPLAY_MAX`]); one audit record per merchant touched.
pub async fn replay_matching(
    db: &sea_orm::DatabaseConnection,
    pipeline: &Pipeline,
    actor: Actor,
    filter: &FilterInput,
) -> AppResult<ReplayReport> {
    let mut filter = filter.clone();
    filter.status = Some(inbound_event::status::FAILED.into());
    let cond = condition(db, &filter).await?;
    let matched = inbound_event::Entity::find()
        .filter(cond.clone())
        .order_by_asc(inbound_event::Column::Id)
        .limit(BULK_REPLAY_MAX + 1)
        .all(db)
        .await?;
    let more = matched.len() as u64 > BULK_REPLAY_MAX;
    let mut report = ReplayReport {
        matched: matched.len().min(BULK_REPLAY_MAX as usize) as u64,
        more,
        ..ReplayReport::default()
    };
    let mut per_merchant: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut stopped = None;
    for event in matched.into_iter().take(BULK_REPLAY_MAX as usize) {
        let after = match processor::replay(db, pipeline, event.merchant_id, event.id).await {
            Ok(after) => after,
            Err(e) => {
                // Stop here, but still audit what was replayed.
                stopped = Some(e);
                break;
            }
        };
        match after.status.as_str() {
            inbound_event::status::PROCESSED | inbound_event::status::SKIPPED => {
                report.processed += 1
            }
            inbound_event::status::DUPLICATE => report.duplicates += 1,
            _ => report.still_failed += 1,
        }
        per_merchant
            .entry(event.merchant_id)
            .or_default()
            .push(event.id);
    }
    for (merchant_id, ids) in per_merchant {
        audit::record(
            db,
            Some(merchant_id),
            actor,
            "inbound_event.bulk_replayed",
            format!("inbound_events:{}", ids.len()),
            None,
            Some(serde_json::json!({"events": ids, "filter": {
                "class": filter.class, "provider": filter.provider, "merchant": filter.merchant,
                "location": filter.location, "since": filter.since, "until": filter.until}})),
        )
        .await?;
    }
    match stopped {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Maps the event's provider store to one of the event's merchant's
/// locations (the fix for an unmapped store).
pub async fn map_store<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    event_id: Uuid,
    provider_store_id: &str,
    location_id: Uuid,
) -> AppResult<StoreMapping> {
    let event = find(db, event_id).await?;
    connections::map_store(
        db,
        actor,
        event.merchant_id,
        StoreMapping {
            provider: event.provider,
            provider_store_id: provider_store_id.to_string(),
            location_id,
        },
    )
    .await
}

/// Maps the event's provider SKU to a new item of the event's merchant.
pub async fn map_sku<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    event_id: Uuid,
    sku: &str,
) -> AppResult<ItemMapping> {
    let event = find(db, event_id).await?;
    connections::map_item(
        db,
        actor,
        event.merchant_id,
        ItemMapping {
            provider: event.provider,
            provider_sku: sku.to_string(),
            item_id: None,
        },
    )
    .await
}

/// Any merchant's location catalog.
pub async fn location_catalog<C: ConnectionTrait>(
    db: &C,
    location_id: Uuid,
) -> AppResult<(String, LocationCatalog)> {
    let loc = location::Entity::find_by_id(location_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such location.".into()))?;
    let catalog = read_models::location_catalog(db, loc.merchant_id, location_id).await?;
    Ok((loc.name, catalog))
}

/// Refused deliveries of the last day by provider and cause.
pub async fn auth_failures<C: ConnectionTrait>(db: &C) -> AppResult<Vec<AuthFailureCount>> {
    let now_minute = entity::now().unix_timestamp() / 60;
    let rows = inbound_auth_failure::Entity::find()
        .filter(inbound_auth_failure::Column::Minute.gte(now_minute - 24 * 60))
        .all(db)
        .await?;
    let mut by: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    for r in rows {
        let e = by.entry((r.provider, r.reason)).or_default();
        e.1 += r.count;
        if r.minute >= now_minute - 60 {
            e.0 += r.count;
        }
        e.2 = e.2.max(r.minute);
    }
    Ok(by
        .into_iter()
        .map(|((provider, cause), (hour, day, last))| AuthFailureCount {
            provider,
            cause,
            last_hour: hour,
            last_day: day,
            last_seen: time::OffsetDateTime::from_unix_timestamp(last * 60)
                .map(rfc3339)
                .unwrap_or_default(),
        })
        .collect())
}

fn version(m: adapter_script::Model) -> ScriptVersion {
    ScriptVersion {
        id: m.id,
        provider: m.provider,
        topic: m.topic,
        version: m.version,
        checksum: m.checksum,
        active: m.active,
        deployed_by: m.deployed_by,
        created_at: rfc3339(m.created_at),
        activated_at: m.activated_at.map(rfc3339),
        source: m.source,
    }
}

/// Every stored script version.
pub async fn scripts<C: ConnectionTrait>(db: &C) -> AppResult<Vec<ScriptVersion>> {
    Ok(super::scripts::store::all(db)
        .await?
        .into_iter()
        .map(version)
        .collect())
}

/// Runs a stored version (active or not) on a stored delivery's body.
pub async fn try_script<C: ConnectionTrait>(
    db: &C,
    pipeline: &Pipeline,
    script_id: Uuid,
    event_id: Uuid,
) -> AppResult<ScriptTrial> {
    let script = adapter_script::Entity::find_by_id(script_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such script version.".into()))?;
    let event = find(db, event_id).await?;
    let topic = Topic::parse(&event.topic).ok_or_else(|| {
        AppError::field("event_id", "That event's topic is not a transformer topic.")
    })?;
    let body =
        pipeline.blobs.get(&event.blob_key).await.map_err(|_| {
            AppError::Unavailable("The raw payload cannot be read right now.".into())
        })?;
    let account = account_of(db, &event).await?;
    let input = transform::script_input(
        &event.provider,
        topic,
        account.as_deref(),
        &event.headers,
        &body,
    );
    let compiled = std::sync::Arc::new(super::scripts::sandbox::Script {
        checksum: script.checksum,
        source: script.source,
    });
    Ok(
        match pipeline.transformers.run_script(compiled, &input).await {
            Ok(super::scripts::Outcome::Output(v)) => {
                let contract = serde_json::from_value::<super::inbound::adapter::Parsed>(v.clone())
                    .err()
                    .map(|e| format!("\n\nbreaks the contract: {e}"))
                    .unwrap_or_default();
                ScriptTrial {
                    outcome: if contract.is_empty() {
                        "output"
                    } else {
                        "error"
                    }
                    .into(),
                    detail: format!(
                        "{}{contract}",
                        serde_json::to_string_pretty(&v).unwrap_or_default()
                    ),
                }
            }
            Ok(super::scripts::Outcome::Skip { reason }) => ScriptTrial {
                outcome: "skip".into(),
                detail: reason,
            },
            Err(e) => ScriptTrial {
                outcome: "error".into(),
                detail: e.to_string(),
            },
        },
    )
}

/// Makes a version the active one (audited, no merchant).
pub async fn activate_script(
    db: &sea_orm::DatabaseConnection,
    pipeline: &Pipeline,
    actor: Actor,
    script_id: Uuid,
) -> AppResult<ScriptVersion> {
    let m = super::scripts::store::activate(db, script_id).await?;
    pipeline.transformers.invalidate();
    audit::record(
        db,
        None,
        actor,
        "adapter_script.activated",
        format!("adapter_script:{}/{}", m.provider, m.topic),
        None,
        Some(serde_json::json!({"version": m.version, "checksum": m.checksum})),
    )
    .await?;
    Ok(version(m))
}
