//! Provider connections (which merchant a provider account belongs to,
//! and the secret its webhooks are signed with) and store mappings.
use entity::crypto::KeyRing;
use entity::{inbound_event, location, provider_connection, store_mapping};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::registry;
use crate::domain::audit::{self, Actor};
use crate::domain::{conflict_on_unique, rfc3339};
use crate::error::{AppError, AppResult};
use crate::model::{
    InboundEventSummary, ProviderConnection, ProviderConnectionCreated, ProviderConnectionInput,
    StoreMapping,
};

fn to_wire(m: &provider_connection::Model) -> ProviderConnection {
    ProviderConnection {
        id: m.id,
        provider: m.provider.clone(),
        account_id: m.account_id.clone(),
        allow_new_items: m.allow_new_items,
        ip_allowlist: m
            .ip_allowlist
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        enabled: m.enabled,
        created_at: rfc3339(m.created_at),
    }
}

/// Connects a provider account; answers the new signing secret once.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    actor: Actor,
    merchant_id: Uuid,
    input: ProviderConnectionInput,
) -> AppResult<ProviderConnectionCreated> {
    if !registry::all().iter().any(|a| a.name() == input.provider) {
        let known: Vec<_> = registry::all().iter().map(|a| a.name()).collect();
        return Err(AppError::field(
            "provider",
            format!("Unknown provider; one of: {}.", known.join(", ")),
        ));
    }
    let account = input.account_id.trim();
    if account.is_empty() || account.len() > 200 {
        return Err(AppError::field(
            "account_id",
            "The provider account id is required (at most 200 characters).",
        ));
    }
    if let Some(bad) = input
        .ip_allowlist
        .iter()
        .find(|e| super::allowlist::parse(e).is_none())
    {
        return Err(AppError::field(
            "ip_allowlist",
            format!("{bad:?} is not an IP address or CIDR block."),
        ));
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let secret = hex::encode(raw);
    let model = provider_connection::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant_id),
        provider: Set(input.provider.clone()),
        account_id: Set(account.to_string()),
        secret: Set(keys.seal(secret.as_bytes())),
        ip_allowlist: Set(json!(input.ip_allowlist)),
        allow_new_items: Set(input.allow_new_items),
        enabled: Set(true),
        created_at: Set(entity::now()),
    }
    .insert(db)
    .await
    .map_err(|e| {
        conflict_on_unique(
            e,
            "This provider account is already connected to Plugboard.",
        )
    })?;
    let connection = to_wire(&model);
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "provider_connection.created",
        format!("provider_connection:{}", model.id),
        None,
        Some(serde_json::to_value(&connection).unwrap_or_default()),
    )
    .await?;
    Ok(ProviderConnectionCreated { connection, secret })
}

/// The merchant's connections.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
) -> AppResult<Vec<ProviderConnection>> {
    Ok(provider_connection::Entity::find()
        .filter(provider_connection::Column::MerchantId.eq(merchant_id))
        .order_by_asc(provider_connection::Column::CreatedAt)
        .all(db)
        .await?
        .iter()
        .map(to_wire)
        .collect())
}

/// Removes a connection; its account's webhooks are refused from then on.
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<()> {
    let res = provider_connection::Entity::delete_many()
        .filter(provider_connection::Column::Id.eq(id))
        .filter(provider_connection::Column::MerchantId.eq(merchant_id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound("No such provider connection.".into()));
    }
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "provider_connection.deleted",
        format!("provider_connection:{id}"),
        None,
        None,
    )
    .await
}

/// Maps a provider store to one of the merchant's locations (replacing an
/// earlier mapping of the same store).
pub async fn map_store<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    mapping: StoreMapping,
) -> AppResult<StoreMapping> {
    location::Entity::find_for_merchant(db, merchant_id, mapping.location_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such location.".into()))?;
    let store = mapping.provider_store_id.trim().to_string();
    if store.is_empty() || store.len() > 200 {
        return Err(AppError::field(
            "provider_store_id",
            "The provider store id is required (at most 200 characters).",
        ));
    }
    store_mapping::Entity::delete_many()
        .filter(store_mapping::Column::MerchantId.eq(merchant_id))
        .filter(store_mapping::Column::Provider.eq(mapping.provider.clone()))
        .filter(store_mapping::Column::ProviderStoreId.eq(store.clone()))
        .exec(db)
        .await?;
    store_mapping::ActiveModel {
        merchant_id: Set(merchant_id),
        provider: Set(mapping.provider.clone()),
        provider_store_id: Set(store.clone()),
        location_id: Set(mapping.location_id),
        created_at: Set(entity::now()),
    }
    .insert(db)
    .await?;
    let out = StoreMapping {
        provider_store_id: store,
        ..mapping
    };
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "store_mapping.set",
        format!("store_mapping:{}:{}", out.provider, out.provider_store_id),
        None,
        Some(serde_json::to_value(&out).unwrap_or_default()),
    )
    .await?;
    Ok(out)
}

/// The merchant's store mappings.
pub async fn store_mappings<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
) -> AppResult<Vec<StoreMapping>> {
    Ok(store_mapping::Entity::find()
        .filter(store_mapping::Column::MerchantId.eq(merchant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| StoreMapping {
            provider: m.provider,
            provider_store_id: m.provider_store_id,
            location_id: m.location_id,
        })
        .collect())
}

/// The merchant's newest inbound events, optionally one status only.
pub async fn events<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    status: Option<&str>,
    limit: u64,
) -> AppResult<Vec<InboundEventSummary>> {
    let mut q = inbound_event::Entity::find()
        .filter(inbound_event::Column::MerchantId.eq(merchant_id))
        .order_by_desc(inbound_event::Column::Id)
        .limit(limit);
    if let Some(s) = status {
        q = q.filter(inbound_event::Column::Status.eq(s));
    }
    Ok(q.all(db).await?.into_iter().map(summary).collect())
}

/// One of the merchant's inbound events.
pub async fn event<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<InboundEventSummary> {
    inbound_event::Entity::find_by_id(id)
        .filter(inbound_event::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await?
        .map(summary)
        .ok_or_else(|| AppError::NotFound("No such inbound event.".into()))
}

/// An event as the API and the consoles show it.
pub fn summary(e: inbound_event::Model) -> InboundEventSummary {
    let in_progress = e.status == inbound_event::status::RECEIVED
        && e.claimed_until.is_some_and(|t| t > entity::now());
    InboundEventSummary {
        id: e.id,
        provider: e.provider,
        family: e.family,
        topic: e.topic,
        received_at: rfc3339(e.received_at),
        status: e.status,
        failure_class: e.failure_class,
        failure_reason: e.failure_reason,
        duplicate_of: e.duplicate_of,
        location_id: e.location_id,
        body_size: e.body_size,
        in_progress,
        commands_applied: e.commands_applied,
        commands_total: e.commands_total,
    }
}

/// Maps a provider SKU to an item (a new item when `item_id` is absent);
/// replaces an earlier mapping of the same SKU.
pub async fn map_item<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    mapping: crate::model::ItemMapping,
) -> AppResult<crate::model::ItemMapping> {
    use entity::item_mapping;
    let sku = mapping.provider_sku.trim().to_string();
    if sku.is_empty() || sku.len() > 200 {
        return Err(AppError::field(
            "provider_sku",
            "The provider SKU is required (at most 200 characters).",
        ));
    }
    if !registry::all().iter().any(|a| a.name() == mapping.provider) {
        return Err(AppError::field("provider", "Unknown provider."));
    }
    if let Some(id) = mapping.item_id {
        // An item id is the merchant's own, or unknown; never another's.
        let foreign = item_mapping::Entity::find()
            .filter(item_mapping::Column::ItemId.eq(id))
            .filter(item_mapping::Column::MerchantId.ne(merchant_id))
            .one(db)
            .await?;
        if foreign.is_some() {
            return Err(AppError::NotFound("No such item.".into()));
        }
    }
    let item_id = mapping.item_id.unwrap_or_else(Uuid::now_v7);
    item_mapping::Entity::delete_many()
        .filter(item_mapping::Column::MerchantId.eq(merchant_id))
        .filter(item_mapping::Column::Provider.eq(mapping.provider.clone()))
        .filter(item_mapping::Column::ProviderSku.eq(sku.clone()))
        .exec(db)
        .await?;
    item_mapping::ActiveModel {
        merchant_id: Set(merchant_id),
        provider: Set(mapping.provider.clone()),
        provider_sku: Set(sku.clone()),
        item_id: Set(item_id),
        created_at: Set(entity::now()),
    }
    .insert(db)
    .await?;
    let out = crate::model::ItemMapping {
        provider: mapping.provider,
        provider_sku: sku,
        item_id: Some(item_id),
    };
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "item_mapping.set",
        format!("item_mapping:{}:{}", out.provider, out.provider_sku),
        None,
        Some(serde_json::to_value(&out).unwrap_or_default()),
    )
    .await?;
    Ok(out)
}

/// The merchant's item mappings, by provider and SKU.
pub async fn item_mappings<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
) -> AppResult<Vec<crate::model::ItemMapping>> {
    use entity::item_mapping;
    Ok(item_mapping::Entity::find()
        .filter(item_mapping::Column::MerchantId.eq(merchant_id))
        .order_by_asc(item_mapping::Column::Provider)
        .order_by_asc(item_mapping::Column::ProviderSku)
        .all(db)
        .await?
        .into_iter()
        .map(|m| crate::model::ItemMapping {
            provider: m.provider,
            provider_sku: m.provider_sku,
            item_id: Some(m.item_id),
        })
        .collect())
}

/// Maps a provider variant to a variant of one of the merchant's items (a
/// new variant id when `variant_id` is absent).
pub async fn map_variant<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    merchant_id: Uuid,
    mapping: crate::model::VariantMapping,
) -> AppResult<crate::model::VariantMapping> {
    use entity::{item_mapping, variant_mapping};
    let id = mapping.provider_variant_id.trim().to_string();
    if id.is_empty() || id.len() > 200 {
        return Err(AppError::field(
            "provider_variant_id",
            "The provider variant id is required (at most 200 characters).",
        ));
    }
    if !registry::all().iter().any(|a| a.name() == mapping.provider) {
        return Err(AppError::field("provider", "Unknown provider."));
    }
    // The item must be one of the merchant's (known through a SKU mapping).
    item_mapping::Entity::find()
        .filter(item_mapping::Column::MerchantId.eq(merchant_id))
        .filter(item_mapping::Column::ItemId.eq(mapping.item_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such item.".into()))?;
    let variant_id = mapping.variant_id.unwrap_or_else(Uuid::now_v7);
    variant_mapping::Entity::delete_many()
        .filter(variant_mapping::Column::MerchantId.eq(merchant_id))
        .filter(variant_mapping::Column::Provider.eq(mapping.provider.clone()))
        .filter(variant_mapping::Column::ProviderVariantId.eq(id.clone()))
        .exec(db)
        .await?;
    variant_mapping::ActiveModel {
        merchant_id: Set(merchant_id),
        provider: Set(mapping.provider.clone()),
        provider_variant_id: Set(id.clone()),
        item_id: Set(mapping.item_id),
        variant_id: Set(variant_id),
        created_at: Set(entity::now()),
    }
    .insert(db)
    .await?;
    let out = crate::model::VariantMapping {
        provider: mapping.provider,
        provider_variant_id: id,
        item_id: mapping.item_id,
        variant_id: Some(variant_id),
    };
    audit::record(
        db,
        Some(merchant_id),
        actor,
        "variant_mapping.set",
        format!(
            "variant_mapping:{}:{}",
            out.provider, out.provider_variant_id
        ),
        None,
        Some(serde_json::to_value(&out).unwrap_or_default()),
    )
    .await?;
    Ok(out)
}

/// The merchant's variant mappings.
pub async fn variant_mappings<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
) -> AppResult<Vec<crate::model::VariantMapping>> {
    use entity::variant_mapping;
    Ok(variant_mapping::Entity::find()
        .filter(variant_mapping::Column::MerchantId.eq(merchant_id))
        .order_by_asc(variant_mapping::Column::Provider)
        .order_by_asc(variant_mapping::Column::ProviderVariantId)
        .all(db)
        .await?
        .into_iter()
        .map(|m| crate::model::VariantMapping {
            provider: m.provider,
            provider_variant_id: m.provider_variant_id,
            item_id: m.item_id,
            variant_id: Some(m.variant_id),
        })
        .collect())
}
