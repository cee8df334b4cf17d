//! The `adapter_scripts` table: deploying script files (a plan first, so
//! `--dry-run` shows exactly what would change), listing versions and
//! activating one.
use entity::adapter_script;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::source::ScriptFile;
use crate::error::{AppError, AppResult};

/// What deploying one file does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A version not in the database yet; it becomes the active one.
    New { replaces: Option<String> },
    /// This version is stored with the same text but another is active.
    Reactivate { replaces: Option<String> },
    /// Already stored and active.
    Unchanged,
    /// Stored under this version with different text: bump `@version`.
    Conflict { stored_checksum: String },
}

/// One line of a deploy plan.
#[derive(Clone, Debug)]
pub struct Planned {
    pub file: ScriptFile,
    pub change: Change,
}

impl Planned {
    /// A line for the terminal.
    pub fn describe(&self) -> String {
        let f = &self.file;
        let name = format!("{}/{} {}", f.provider, f.topic, f.version);
        match &self.change {
            Change::New { replaces: None } => format!("{name}: new, will be active"),
            Change::New {
                replaces: Some(old),
            } => format!("{name}: new, will replace active {old}"),
            Change::Reactivate { replaces } => format!(
                "{name}: already stored, will be active again (replacing {})",
                replaces.as_deref().unwrap_or("none")
            ),
            Change::Unchanged => format!("{name}: unchanged"),
            Change::Conflict { stored_checksum } => format!(
                "{name}: CONFLICT, version {} is stored with other content (sha256 {}…); bump @version",
                f.version,
                &stored_checksum[..12.min(stored_checksum.len())]
            ),
        }
    }
}

/// What deploying `files` would do, without changing anything.
pub async fn plan<C: ConnectionTrait>(db: &C, files: Vec<ScriptFile>) -> AppResult<Vec<Planned>> {
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let versions = versions(db, &file.provider, &file.topic).await?;
        let active = versions
            .iter()
            .find(|v| v.active)
            .map(|v| v.version.clone());
        let change = match versions.iter().find(|v| v.version == file.version) {
            Some(v) if v.checksum != file.checksum => Change::Conflict {
                stored_checksum: v.checksum.clone(),
            },
            Some(v) if v.active => Change::Unchanged,
            Some(_) => Change::Reactivate { replaces: active },
            None => Change::New { replaces: active },
        };
        out.push(Planned { file, change });
    }
    Ok(out)
}

/// Applies a plan in one transaction; refuses it whole if any line conflicts.
pub async fn apply<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    plan: &[Planned],
    deployed_by: &str,
) -> AppResult<usize> {
    if let Some(p) = plan
        .iter()
        .find(|p| matches!(p.change, Change::Conflict { .. }))
    {
        return Err(AppError::Conflict(p.describe()));
    }
    let txn = db.begin().await?;
    let mut changed = 0;
    for p in plan {
        let f = &p.file;
        let id = match &p.change {
            Change::Unchanged | Change::Conflict { .. } => continue,
            Change::New { .. } => {
                let id = Uuid::now_v7();
                adapter_script::ActiveModel {
                    id: Set(id),
                    provider: Set(f.provider.clone()),
                    topic: Set(f.topic.clone()),
                    version: Set(f.version.clone()),
                    checksum: Set(f.checksum.clone()),
                    source: Set(f.source.clone()),
                    active: Set(false),
                    deployed_by: Set(deployed_by.into()),
                    created_at: Set(entity::now()),
                    activated_at: Set(None),
                }
                .insert(&txn)
                .await?;
                id
            }
            Change::Reactivate { .. } => {
                adapter_script::Entity::find()
                    .filter(adapter_script::Column::Provider.eq(f.provider.clone()))
                    .filter(adapter_script::Column::Topic.eq(f.topic.clone()))
                    .filter(adapter_script::Column::Version.eq(f.version.clone()))
                    .one(&txn)
                    .await?
                    .ok_or_else(|| {
                        AppError::Conflict(format!("{} changed meanwhile", p.describe()))
                    })?
                    .id
            }
        };
        make_active(&txn, &f.provider, &f.topic, id).await?;
        changed += 1;
    }
    txn.commit().await?;
    Ok(changed)
}

async fn make_active<C: ConnectionTrait>(
    db: &C,
    provider: &str,
    topic: &str,
    id: Uuid,
) -> AppResult<()> {
    adapter_script::Entity::update_many()
        .col_expr(adapter_script::Column::Active, Expr::value(false))
        .filter(adapter_script::Column::Provider.eq(provider))
        .filter(adapter_script::Column::Topic.eq(topic))
        .filter(adapter_script::Column::Active.eq(true))
        .exec(db)
        .await?;
    adapter_script::Entity::update_many()
        .col_expr(adapter_script::Column::Active, Expr::value(true))
        .col_expr(
            adapter_script::Column::ActivatedAt,
            Expr::value(Some(entity::now())),
        )
        .filter(adapter_script::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes version `id` the active one of its (provider, topic).
pub async fn activate<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    id: Uuid,
) -> AppResult<adapter_script::Model> {
    // Read first, outside the transaction (provider and topic never
    // change); the transaction then starts with a write, as SQLite needs.
    let script = adapter_script::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No script version with that id.".into()))?;
    let txn = db.begin().await?;
    make_active(&txn, &script.provider, &script.topic, id).await?;
    txn.commit().await?;
    Ok(adapter_script::Model {
        active: true,
        ..script
    })
}

/// Every version of one (provider, topic), newest first.
pub async fn versions<C: ConnectionTrait>(
    db: &C,
    provider: &str,
    topic: &str,
) -> AppResult<Vec<adapter_script::Model>> {
    Ok(adapter_script::Entity::find()
        .filter(adapter_script::Column::Provider.eq(provider))
        .filter(adapter_script::Column::Topic.eq(topic))
        .order_by_desc(adapter_script::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Every version of every script, by provider, topic, newest first.
pub async fn all<C: ConnectionTrait>(db: &C) -> AppResult<Vec<adapter_script::Model>> {
    Ok(adapter_script::Entity::find()
        .order_by_asc(adapter_script::Column::Provider)
        .order_by_asc(adapter_script::Column::Topic)
        .order_by_desc(adapter_script::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The active version of (provider, topic), if any.
pub async fn active<C: ConnectionTrait>(
    db: &C,
    provider: &str,
    topic: &str,
) -> AppResult<Option<adapter_script::Model>> {
    Ok(adapter_script::Entity::find()
        .filter(adapter_script::Column::Provider.eq(provider))
        .filter(adapter_script::Column::Topic.eq(topic))
        .filter(adapter_script::Column::Active.eq(true))
        .one(db)
        .await?)
}
