//! Catalog queries: list with filters, and one integration in detail.
//!
//! The catalog is small (tens to hundreds of rows), so it is read whole and
//! filtered in memory; this keeps text search identical on every backend.
use std::collections::HashMap;

use entity::{capability, category, integration, integration_capability};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use crate::error::{AppError, AppResult};
use crate::model::{
    AuthShape, Capability, CapabilityStatus, Catalog, CatalogQuery, Category, ConfigField,
    IntegrationDetail, IntegrationStatus, IntegrationSummary, Mode,
};

/// Everything in the catalog tables, read once per request.
struct Snapshot {
    categories: Vec<category::Model>,
    capabilities: Vec<capability::Model>,
    integrations: Vec<integration::Model>,
    links: HashMap<String, Vec<String>>,
}

async fn snapshot<C: ConnectionTrait>(db: &C) -> AppResult<Snapshot> {
    let categories = category::Entity::find()
        .order_by_asc(category::Column::Position)
        .all(db)
        .await?;
    let capabilities = capability::Entity::find()
        .order_by_asc(capability::Column::Slug)
        .all(db)
        .await?;
    let integrations = integration::Entity::find()
        .order_by_asc(integration::Column::Name)
        .all(db)
        .await?;
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    for link in integration_capability::Entity::find().all(db).await? {
        links
            .entry(link.integration_slug)
            .or_default()
            .push(link.capability_slug);
    }
    for caps in links.values_mut() {
        caps.sort();
    }
    Ok(Snapshot {
        categories,
        capabilities,
        integrations,
        links,
    })
}

pub(crate) fn capability_to_wire(m: &capability::Model) -> Capability {
    Capability {
        slug: m.slug.clone(),
        surface: m.surface.clone(),
        mode: if m.mode == "replace" {
            Mode::Replace
        } else {
            Mode::Add
        },
        cap: m.cap,
        status: if m.status == "live" {
            CapabilityStatus::Live
        } else {
            CapabilityStatus::Reserved
        },
        capability_version: m.capability_version,
    }
}

fn status_of(m: &integration::Model) -> IntegrationStatus {
    if m.status == "available" {
        IntegrationStatus::Available
    } else {
        IntegrationStatus::ComingSoon
    }
}

fn auth_of(m: &integration::Model) -> AuthShape {
    // The loader refuses unknown shapes, so the fallback is never used for
    // rows it wrote; it picks the shape that asks the merchant for the least.
    AuthShape::parse(&m.auth_shape).unwrap_or(AuthShape::PlatformShared)
}

impl Snapshot {
    fn caps_of(&self, slug: &str) -> Vec<String> {
        self.links.get(slug).cloned().unwrap_or_default()
    }

    fn summary(&self, m: &integration::Model) -> IntegrationSummary {
        IntegrationSummary {
            slug: m.slug.clone(),
            name: m.name.clone(),
            category: m.category_slug.clone(),
            summary: m.summary.clone(),
            auth_shape: auth_of(m),
            status: status_of(m),
            capabilities: self.caps_of(&m.slug),
        }
    }

    fn categories(&self) -> Vec<Category> {
        self.categories
            .iter()
            .map(|c| Category {
                slug: c.slug.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                integration_count: self
                    .integrations
                    .iter()
                    .filter(|i| i.category_slug == c.slug)
                    .count(),
            })
            .collect()
    }

    fn matches(&self, m: &integration::Model, query: &CatalogQuery) -> bool {
        if let Some(cat) = non_empty(&query.category) {
            if m.category_slug != cat {
                return false;
            }
        }
        let caps = self.caps_of(&m.slug);
        if let Some(cap) = non_empty(&query.capability) {
            if !caps.iter().any(|c| c == cap) {
                return false;
            }
        }
        if let Some(q) = non_empty(&query.q) {
            let haystack = format!(
                "{} {} {} {} {} {}",
                m.name,
                m.slug,
                m.summary,
                m.description,
                m.category_slug,
                caps.join(" ")
            )
            .to_lowercase();
            return q
                .to_lowercase()
                .split_whitespace()
                .all(|word| haystack.contains(word));
        }
        true
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The catalog, filtered by `query`; available integrations first.
pub async fn list<C: ConnectionTrait>(db: &C, query: &CatalogQuery) -> AppResult<Catalog> {
    let snap = snapshot(db).await?;
    let mut integrations: Vec<IntegrationSummary> = snap
        .integrations
        .iter()
        .filter(|m| snap.matches(m, query))
        .map(|m| snap.summary(m))
        .collect();
    integrations.sort_by_key(|i| {
        (
            i.status != IntegrationStatus::Available,
            i.name.to_lowercase(),
        )
    });
    Ok(Catalog {
        categories: snap.categories(),
        capabilities: snap.capabilities.iter().map(capability_to_wire).collect(),
        integrations,
    })
}

/// One integration in detail.
pub async fn detail<C: ConnectionTrait>(db: &C, slug: &str) -> AppResult<IntegrationDetail> {
    let snap = snapshot(db).await?;
    let m = snap
        .integrations
        .iter()
        .find(|i| i.slug == slug)
        .ok_or_else(|| {
            AppError::NotFound(format!("No integration named {slug:?} in the catalog."))
        })?;
    let caps = snap.caps_of(&m.slug);
    let category = snap
        .categories()
        .into_iter()
        .find(|c| c.slug == m.category_slug)
        .ok_or(AppError::Internal)?;
    Ok(IntegrationDetail {
        slug: m.slug.clone(),
        name: m.name.clone(),
        category,
        summary: m.summary.clone(),
        description: m.description.clone(),
        partner_url: m.partner_url.clone(),
        auth_shape: auth_of(m),
        status: status_of(m),
        capabilities: snap
            .capabilities
            .iter()
            .filter(|c| caps.contains(&c.slug))
            .map(capability_to_wire)
            .collect(),
        config_fields: config_fields(&m.config_schema),
        config_schema: m.config_schema.clone(),
    })
}

/// The install form's fields, read from an object JSON Schema.
pub fn config_fields(schema: &serde_json::Value) -> Vec<ConfigField> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| {
            let str_of = |k: &str| prop.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let choices: Vec<String> = prop
                .get("enum")
                .and_then(|e| e.as_array())
                .map(|e| {
                    e.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let kind = if choices.is_empty() {
                str_of("type").unwrap_or_else(|| "string".into())
            } else {
                "enum".into()
            };
            ConfigField {
                name: name.clone(),
                title: str_of("title").unwrap_or_else(|| name.clone()),
                description: str_of("description"),
                kind,
                required: required.contains(&name.as_str()),
                secret: prop.get("writeOnly").and_then(|v| v.as_bool()) == Some(true),
                default: prop
                    .get("default")
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                choices,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_fields_follow_the_schema() {
        let schema = json!({
            "type": "object",
            "required": ["api_key"],
            "properties": {
                "api_key": {"type": "string", "title": "API key", "writeOnly": true},
                "env": {"type": "string", "enum": ["sandbox", "production"], "default": "sandbox"},
                "guests": {"type": "integer", "default": 2}
            }
        });
        let fields = config_fields(&schema);
        let key = fields.iter().find(|f| f.name == "api_key").unwrap();
        assert!(key.required && key.secret);
        let env = fields.iter().find(|f| f.name == "env").unwrap();
        assert_eq!(env.kind, "enum");
        assert_eq!(env.choices, vec!["sandbox", "production"]);
        assert_eq!(env.default.as_deref(), Some("sandbox"));
        let guests = fields.iter().find(|f| f.name == "guests").unwrap();
        assert_eq!(
            (guests.kind.as_str(), guests.default.as_deref()),
            ("integer", Some("2"))
        );
        assert!(!guests.required && !guests.secret);
    }
}
