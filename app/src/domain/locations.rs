//! A merchant's locations: add, rename, remove, and their POS external ids.
use std::collections::HashMap;

use entity::{location, location_external_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, ModelTrait,
    QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

use super::conflict_on_unique;
use crate::error::{AppError, AppResult, FieldError};
use crate::model::{ExternalId, Location, LocationInput};

const NAME_MAX: usize = 80;

/// A validated location input.
#[derive(Debug)]
struct Valid {
    name: String,
    city: String,
    timezone: String,
    external_ids: Option<Vec<ExternalId>>,
}

fn validate(input: LocationInput) -> AppResult<Valid> {
    let mut fields = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        fields.push(FieldError {
            field: "name".into(),
            message: format!("Enter a name of 1 to {NAME_MAX} characters."),
        });
    }
    let city = input.city.trim().to_string();
    if city.is_empty() || city.chars().count() > NAME_MAX {
        fields.push(FieldError {
            field: "city".into(),
            message: format!("Enter a city of 1 to {NAME_MAX} characters."),
        });
    }
    let timezone = input.timezone.trim().to_string();
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        fields.push(FieldError {
            field: "timezone".into(),
            message: "Choose an IANA time zone such as Asia/Jakarta.".into(),
        });
    }
    let external_ids = match input.external_ids {
        None => None,
        Some(ids) => {
            let mut seen = HashMap::new();
            let mut clean = Vec::new();
            for id in ids {
                let provider = id.provider.trim().to_lowercase();
                let external_id = id.external_id.trim().to_string();
                let provider_ok = !provider.is_empty()
                    && provider.len() <= 64
                    && provider
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !provider_ok {
                    fields.push(FieldError {
                        field: "external_ids".into(),
                        message: "Provider names use letters, digits, '-' and '_' (up to 64)."
                            .into(),
                    });
                    continue;
                }
                if external_id.is_empty() || external_id.len() > 128 {
                    fields.push(FieldError {
                        field: "external_ids".into(),
                        message: format!("The {provider} id must be 1 to 128 characters."),
                    });
                    continue;
                }
                if seen.insert(provider.clone(), ()).is_some() {
                    fields.push(FieldError {
                        field: "external_ids".into(),
                        message: format!("{provider} is listed twice."),
                    });
                    continue;
                }
                clean.push(ExternalId {
                    provider,
                    external_id,
                });
            }
            Some(clean)
        }
    };
    if !fields.is_empty() {
        let message = fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        return Err(AppError::InvalidRequest { message, fields });
    }
    Ok(Valid {
        name,
        city,
        timezone,
        external_ids,
    })
}

const NAME_TAKEN: &str = "You already have a location with this name.";
const EXTERNAL_TAKEN: &str =
    "That provider id is already linked to another location. Each POS id can point to one location only.";

fn to_wire(model: location::Model, ids: Vec<location_external_id::Model>) -> Location {
    let mut external_ids: Vec<ExternalId> = ids
        .into_iter()
        .map(|i| ExternalId {
            provider: i.provider,
            external_id: i.external_id,
        })
        .collect();
    external_ids.sort_by(|a, b| a.provider.cmp(&b.provider));
    Location {
        id: model.id,
        name: model.name,
        city: model.city,
        timezone: model.timezone,
        external_ids,
    }
}

/// Every location of a merchant.
pub async fn list<C: ConnectionTrait>(db: &C, merchant_id: Uuid) -> AppResult<Vec<Location>> {
    let rows = location::Entity::find()
        .filter(location::Column::MerchantId.eq(merchant_id))
        .find_with_related(location_external_id::Entity)
        .all(db)
        .await?;
    let mut out: Vec<Location> = rows.into_iter().map(|(l, ids)| to_wire(l, ids)).collect();
    out.sort_by_key(|l| l.name.to_lowercase());
    Ok(out)
}

/// The merchant's locations as id and name (for pickers and labels).
pub async fn refs<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
) -> AppResult<Vec<crate::model::LocationRef>> {
    Ok(list(db, merchant_id)
        .await?
        .into_iter()
        .map(|l| crate::model::LocationRef {
            id: l.id,
            name: l.name,
        })
        .collect())
}

/// One location of a merchant.
pub async fn get<C: ConnectionTrait>(db: &C, merchant_id: Uuid, id: Uuid) -> AppResult<Location> {
    let model = find(db, merchant_id, id).await?;
    let ids = model
        .find_related(location_external_id::Entity)
        .all(db)
        .await?;
    Ok(to_wire(model, ids))
}

async fn find<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<location::Model> {
    location::Entity::find_for_merchant(db, merchant_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such location.".into()))
}

async fn replace_external_ids<C: ConnectionTrait>(
    db: &C,
    location_id: Uuid,
    ids: Vec<ExternalId>,
) -> AppResult<()> {
    location_external_id::Entity::delete_many()
        .filter(location_external_id::Column::LocationId.eq(location_id))
        .exec(db)
        .await?;
    for id in ids {
        location_external_id::ActiveModel {
            location_id: Set(location_id),
            provider: Set(id.provider),
            external_id: Set(id.external_id),
        }
        .insert(db)
        .await
        .map_err(|e| conflict_on_unique(e, EXTERNAL_TAKEN))?;
    }
    Ok(())
}

/// Adds a location.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    merchant_id: Uuid,
    input: LocationInput,
) -> AppResult<Location> {
    let valid = validate(input)?;
    let txn = db.begin().await?;
    let now = entity::now();
    let model = location::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant_id),
        name: Set(valid.name),
        city: Set(valid.city),
        timezone: Set(valid.timezone),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| conflict_on_unique(e, NAME_TAKEN))?;
    if let Some(ids) = valid.external_ids {
        replace_external_ids(&txn, model.id, ids).await?;
    }
    super::installs::claim_for_new_location(&txn, merchant_id, model.id).await?;
    let out = get(&txn, merchant_id, model.id).await?;
    txn.commit().await?;
    Ok(out)
}

/// Renames or otherwise changes a location.
pub async fn update<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    merchant_id: Uuid,
    id: Uuid,
    input: LocationInput,
) -> AppResult<Location> {
    let valid = validate(input)?;
    let txn = db.begin().await?;
    let mut model = find(&txn, merchant_id, id).await?.into_active_model();
    model.name = Set(valid.name);
    model.city = Set(valid.city);
    model.timezone = Set(valid.timezone);
    model.updated_at = Set(entity::now());
    model
        .update(&txn)
        .await
        .map_err(|e| conflict_on_unique(e, NAME_TAKEN))?;
    if let Some(ids) = valid.external_ids {
        replace_external_ids(&txn, id, ids).await?;
    }
    let out = get(&txn, merchant_id, id).await?;
    txn.commit().await?;
    Ok(out)
}

/// Removes a location and everything scoped to it (its own installs and
/// its slots of all-locations installs).
pub async fn delete<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: super::audit::Actor,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<()> {
    let txn = db.begin().await?;
    let model = find(&txn, merchant_id, id).await?;
    super::installs::release_location(&txn, actor, merchant_id, id).await?;
    location_external_id::Entity::delete_many()
        .filter(location_external_id::Column::LocationId.eq(id))
        .exec(&txn)
        .await?;
    model.delete(&txn).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, city: &str, tz: &str) -> LocationInput {
        LocationInput {
            name: name.into(),
            city: city.into(),
            timezone: tz.into(),
            external_ids: None,
        }
    }

    #[test]
    fn a_good_location_passes() {
        let v = validate(input(" Jakarta Central ", "Jakarta", "Asia/Jakarta")).unwrap();
        assert_eq!(v.name, "Jakarta Central");
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = validate(input("", "", "Mars/Olympus")).unwrap_err();
        for f in ["name", "city", "timezone"] {
            assert!(err.field_message(f).is_some(), "{f} should be reported");
        }
    }

    #[test]
    fn duplicate_providers_are_refused() {
        let mut i = input("A", "B", "UTC");
        i.external_ids = Some(vec![
            ExternalId {
                provider: "revel".into(),
                external_id: "1".into(),
            },
            ExternalId {
                provider: "Revel".into(),
                external_id: "2".into(),
            },
        ]);
        assert!(validate(i)
            .unwrap_err()
            .field_message("external_ids")
            .is_some());
    }
}
