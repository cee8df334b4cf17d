//! The catalog as a versioned file (`catalog/catalog.json`), checked and
//! loaded into the database. Operators add partners by editing the file.
use std::collections::HashSet;

use entity::{capability, category, integration, integration_capability};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::Deserialize;

use crate::error::AppError;
use crate::model::AuthShape;

/// The catalog shipped with this build.
pub const BUILTIN: &str = include_str!("../../../catalog/catalog.json");

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    pub catalog_version: i32,
    pub categories: Vec<CategoryRow>,
    pub capabilities: Vec<CapabilityRow>,
    pub integrations: Vec<IntegrationRow>,
}

/// A category of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRow {
    pub slug: String,
    pub name: String,
    pub description: String,
}

/// A capability of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityRow {
    pub slug: String,
    pub surface: String,
    pub mode: String,
    pub cap: Option<i32>,
    pub status: String,
    pub capability_version: i32,
}

/// An integration of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationRow {
    pub slug: String,
    pub name: String,
    pub category: String,
    pub capabilities: Vec<String>,
    pub auth_shape: String,
    pub summary: String,
    pub description: String,
    pub partner_url: Option<String>,
    pub status: String,
    pub config_schema: serde_json::Value,
    /// Required for available `oauth` integrations.
    #[serde(default)]
    pub oauth: Option<super::oauth::Endpoints>,
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    /// Not JSON of the expected shape.
    #[error("catalog file is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// Well-formed but inconsistent; every problem is listed.
    #[error("catalog file has {} problem(s):\n  - {}", .0.len(), .0.join("\n  - "))]
    Invalid(Vec<String>),
    /// Writing to the database failed.
    #[error("could not store the catalog: {0}")]
    Store(#[from] sea_orm::DbErr),
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl CatalogFile {
    /// Parses and checks a catalog file.
    pub fn parse(text: &str) -> Result<Self, CatalogFileError> {
        let file: CatalogFile = serde_json::from_str(text)?;
        file.check()?;
        Ok(file)
    }

    fn check(&self) -> Result<(), CatalogFileError> {
        let mut problems = Vec::new();
        let mut categories = HashSet::new();
        for c in &self.categories {
            if !is_slug(&c.slug) || !categories.insert(c.slug.as_str()) {
                problems.push(format!("category {:?}: bad or repeated slug", c.slug));
            }
        }
        let mut capabilities = HashSet::new();
        for c in &self.capabilities {
            if !is_slug(&c.slug) || !capabilities.insert(c.slug.as_str()) {
                problems.push(format!("capability {:?}: bad or repeated slug", c.slug));
            }
            if c.mode != "add" && c.mode != "replace" {
                problems.push(format!(
                    "capability {}: mode must be add or replace",
                    c.slug
                ));
            }
            if c.mode == "replace" && c.cap.is_some() {
                problems.push(format!(
                    "capability {}: only add-mode capabilities have a cap",
                    c.slug
                ));
            }
            if c.cap.is_some_and(|cap| cap < 1) {
                problems.push(format!("capability {}: cap must be at least 1", c.slug));
            }
            if c.status != "live" && c.status != "reserved" {
                problems.push(format!(
                    "capability {}: status must be live or reserved",
                    c.slug
                ));
            }
            if c.capability_version < 1 {
                problems.push(format!(
                    "capability {}: capability_version starts at 1",
                    c.slug
                ));
            }
        }
        let mut integrations = HashSet::new();
        for i in &self.integrations {
            let at = format!("integration {:?}", i.slug);
            if !is_slug(&i.slug) || !integrations.insert(i.slug.as_str()) {
                problems.push(format!("{at}: bad or repeated slug"));
            }
            if !categories.contains(i.category.as_str()) {
                problems.push(format!("{at}: unknown category {:?}", i.category));
            }
            if i.capabilities.is_empty() {
                problems.push(format!("{at}: needs at least one capability"));
            }
            for c in &i.capabilities {
                if !capabilities.contains(c.as_str()) {
                    problems.push(format!("{at}: unknown capability {c:?}"));
                }
            }
            if AuthShape::parse(&i.auth_shape).is_none() {
                problems.push(format!(
                    "{at}: auth_shape must be platform_shared, merchant_key or oauth"
                ));
            }
            match (&i.oauth, i.auth_shape.as_str()) {
                (Some(e), "oauth") => {
                    for p in e.problems() {
                        problems.push(format!("{at}: {p}"));
                    }
                }
                (Some(_), _) => problems.push(format!(
                    "{at}: only oauth integrations have an oauth block"
                )),
                (None, "oauth") if i.status == "available" => problems.push(format!(
                    "{at}: an available oauth integration needs an oauth block (authorize_url, token_url)"
                )),
                (None, _) => {}
            }
            if i.status != "available" && i.status != "coming_soon" {
                problems.push(format!("{at}: status must be available or coming_soon"));
            }
            if i.config_schema.get("type").and_then(|t| t.as_str()) != Some("object") {
                problems.push(format!("{at}: config_schema must describe an object"));
            }
            if let Err(e) = jsonschema::validator_for(&i.config_schema) {
                problems.push(format!(
                    "{at}: config_schema is not a valid JSON Schema: {e}"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CatalogFileError::Invalid(problems))
        }
    }

    /// Writes the catalog into the database in one transaction: rows are
    /// inserted or updated by slug; rows absent from the file are kept (installs
    /// may still refer to them).
    pub async fn store<C: ConnectionTrait + TransactionTrait>(
        &self,
        db: &C,
    ) -> Result<(), CatalogFileError> {
        let txn = db.begin().await?;
        for (position, c) in self.categories.iter().enumerate() {
            category::Entity::insert(category::ActiveModel {
                slug: Set(c.slug.clone()),
                name: Set(c.name.clone()),
                description: Set(c.description.clone()),
                position: Set(position as i32),
            })
            .on_conflict(
                OnConflict::column(category::Column::Slug)
                    .update_columns([
                        category::Column::Name,
                        category::Column::Description,
                        category::Column::Position,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        }
        for c in &self.capabilities {
            capability::Entity::insert(capability::ActiveModel {
                slug: Set(c.slug.clone()),
                surface: Set(c.surface.clone()),
                mode: Set(c.mode.clone()),
                cap: Set(c.cap),
                status: Set(c.status.clone()),
                capability_version: Set(c.capability_version),
            })
            .on_conflict(
                OnConflict::column(capability::Column::Slug)
                    .update_columns([
                        capability::Column::Surface,
                        capability::Column::Mode,
                        capability::Column::Cap,
                        capability::Column::Status,
                        capability::Column::CapabilityVersion,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        }
        let now = entity::now();
        for i in &self.integrations {
            integration::Entity::insert(integration::ActiveModel {
                slug: Set(i.slug.clone()),
                name: Set(i.name.clone()),
                category_slug: Set(i.category.clone()),
                auth_shape: Set(i.auth_shape.clone()),
                config_schema: Set(i.config_schema.clone()),
                summary: Set(i.summary.clone()),
                description: Set(i.description.clone()),
                partner_url: Set(i.partner_url.clone()),
                status: Set(i.status.clone()),
                oauth: Set(i.oauth.as_ref().and_then(|o| serde_json::to_value(o).ok())),
                catalog_version: Set(self.catalog_version),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(integration::Column::Slug)
                    .update_columns([
                        integration::Column::Name,
                        integration::Column::CategorySlug,
                        integration::Column::AuthShape,
                        integration::Column::ConfigSchema,
                        integration::Column::Summary,
                        integration::Column::Description,
                        integration::Column::PartnerUrl,
                        integration::Column::Status,
                        integration::Column::Oauth,
                        integration::Column::CatalogVersion,
                        integration::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
            integration_capability::Entity::delete_many()
                .filter(integration_capability::Column::IntegrationSlug.eq(i.slug.clone()))
                .exec(&txn)
                .await?;
            integration_capability::Entity::insert_many(i.capabilities.iter().map(|c| {
                integration_capability::ActiveModel {
                    integration_slug: Set(i.slug.clone()),
                    capability_slug: Set(c.clone()),
                }
            }))
            .exec(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

impl From<CatalogFileError> for AppError {
    fn from(err: CatalogFileError) -> Self {
        tracing::error!(error = %err, "catalog could not be loaded");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_valid_and_complete() {
        let file = CatalogFile::parse(BUILTIN).expect("shipped catalog parses");
        assert_eq!(file.categories.len(), 11);
        assert_eq!(file.capabilities.len(), 21);
        assert!(file.integrations.len() >= 12);
        let receipt_qr = file
            .capabilities
            .iter()
            .find(|c| c.slug == "receipt_qr")
            .unwrap();
        assert_eq!((receipt_qr.mode.as_str(), receipt_qr.cap), ("add", Some(3)));
        let providing = |cap: &str| {
            file.integrations
                .iter()
                .filter(|i| i.capabilities.iter().any(|c| c == cap))
                .count()
        };
        assert!(providing("receipt_qr") >= 4);
        assert!(providing("pay_at_table") >= 2);
        let used: HashSet<&str> = file
            .integrations
            .iter()
            .map(|i| i.category.as_str())
            .collect();
        assert_eq!(used.len(), 11, "every category has an integration");
    }

    #[test]
    fn inconsistent_files_list_every_problem() {
        let text = r#"{"catalog_version":1,
          "categories":[{"slug":"receipt","name":"R","description":""}],
          "capabilities":[{"slug":"x","surface":"s","mode":"swap","cap":0,"status":"live","capability_version":1}],
          "integrations":[{"slug":"a","name":"A","category":"nope","capabilities":["y"],
            "auth_shape":"magic","summary":"","description":"","partner_url":null,
            "status":"available","config_schema":{"type":"array"}}]}"#;
        let Err(CatalogFileError::Invalid(problems)) = CatalogFile::parse(text) else {
            panic!("should be invalid");
        };
        let all = problems.join("\n");
        for needle in [
            "mode must be",
            "cap must be",
            "unknown category",
            "unknown capability",
            "auth_shape",
            "describe an object",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in {all}");
        }
    }
}
