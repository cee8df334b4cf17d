//! Reading what the pipeline built: a location's catalog and status.
use entity::{catalog_item, catalog_variant, location, store_status};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::{CatalogItem, CatalogVariant, LocationCatalog};

/// The catalog of one of the merchant's locations.
pub async fn location_catalog<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Uuid,
) -> AppResult<LocationCatalog> {
    location::Entity::find_for_merchant(db, merchant_id, location_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such location.".into()))?;
    let status = store_status::Entity::find_by_id(location_id)
        .one(db)
        .await?;
    let mut variants: std::collections::HashMap<Uuid, Vec<CatalogVariant>> =
        std::collections::HashMap::new();
    for v in catalog_variant::Entity::find()
        .filter(catalog_variant::Column::LocationId.eq(location_id))
        .filter(catalog_variant::Column::MerchantId.eq(merchant_id))
        .order_by_asc(catalog_variant::Column::Name)
        .all(db)
        .await?
    {
        variants.entry(v.item_id).or_default().push(CatalogVariant {
            variant_id: v.variant_id,
            provider_variant_id: v.provider_variant_id,
            name: v.name,
            price: super::canonical::format_minor(v.price_minor, &v.currency),
            price_minor: v.price_minor,
            currency: v.currency,
            available: v.available,
        });
    }
    let items = catalog_item::Entity::find()
        .filter(catalog_item::Column::LocationId.eq(location_id))
        .filter(catalog_item::Column::MerchantId.eq(merchant_id))
        .order_by_asc(catalog_item::Column::Category)
        .order_by_asc(catalog_item::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|i| CatalogItem {
            item_id: i.item_id,
            sku: i.provider_sku,
            name: i.name,
            category: i.category,
            price: super::canonical::format_minor(i.price_minor, &i.currency),
            price_minor: i.price_minor,
            currency: i.currency,
            available: i.available,
            stock_level: i.stock_level,
            unit: i.unit,
            updated_at: rfc3339(i.updated_at),
            variants: variants.remove(&i.item_id).unwrap_or_default(),
        })
        .collect();
    Ok(LocationCatalog {
        location_id,
        open: status.as_ref().map(|s| s.open),
        closed_reason: status.and_then(|s| s.reason),
        items,
    })
}
