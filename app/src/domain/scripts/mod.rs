//! JS transformers (seed 002's mechanism): scripts keyed by (provider,
//! topic) in `adapter_scripts`, deployed from `scripts/adapters/`, run in
//! the [`sandbox`]. [`Transformers`] finds the active script (cached for
//! [`ACTIVE_CACHE`]) and runs it; the skip sentinel `{skip: true, reason}`
//! comes back as [`Outcome::Skip`]. Contracts per topic: docs/scripts.md.

pub mod sandbox;
pub mod source;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use serde_json::Value;

use sandbox::{Sandbox, SandboxError, Script};

/// How long a process trusts its copy of which version is active; an
/// activation elsewhere reaches every process within this time.
pub const ACTIVE_CACHE: Duration = Duration::from_secs(2);

/// What a script decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The transformed value.
    Output(Value),
    /// The skip sentinel: acknowledge, do nothing.
    Skip { reason: String },
}

/// Why no outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    #[error("no active script for {provider}/{topic}; deploy one with `plugboard scripts deploy`")]
    NoActiveScript { provider: String, topic: String },
    #[error("{provider}/{topic} {version}: {error}")]
    Failed {
        provider: String,
        topic: String,
        version: String,
        error: SandboxError,
    },
    #[error("looking up the active script failed: {0}")]
    Lookup(String),
}

impl From<TransformError> for crate::error::AppError {
    fn from(e: TransformError) -> Self {
        match e {
            TransformError::NoActiveScript { .. } => Self::NoActiveScript(e.to_string()),
            TransformError::Failed { .. } => Self::TransformFailed(e.to_string()),
            TransformError::Lookup(_) => Self::Unavailable(e.to_string()),
        }
    }
}

/// The active version of one script, ready to run.
#[derive(Clone, Debug)]
pub struct ActiveScript {
    pub version: String,
    pub script: Arc<Script>,
}

type Cached = (Instant, Option<Arc<ActiveScript>>);

/// Finds and runs active scripts; cheap to clone.
#[derive(Clone)]
pub struct Transformers {
    db: DatabaseConnection,
    sandbox: Sandbox,
    active: Arc<Mutex<HashMap<(String, String), Cached>>>,
}

impl Transformers {
    pub fn new(db: DatabaseConnection, sandbox: Sandbox) -> Self {
        Transformers {
            db,
            sandbox,
            active: Arc::default(),
        }
    }

    /// Forgets which versions are active (after a deploy or activation here).
    pub fn invalidate(&self) {
        self.active.lock().expect("script cache").clear();
    }

    /// The active version of (provider, topic), if any.
    pub async fn active(
        &self,
        provider: &str,
        topic: &str,
    ) -> Result<Option<Arc<ActiveScript>>, TransformError> {
        let key = (provider.to_string(), topic.to_string());
        if let Some((at, found)) = self.active.lock().expect("script cache").get(&key) {
            if at.elapsed() < ACTIVE_CACHE {
                return Ok(found.clone());
            }
        }
        let found = store::active(&self.db, provider, topic)
            .await
            .map_err(|e| TransformError::Lookup(e.to_string()))?
            .map(|m| {
                Arc::new(ActiveScript {
                    version: m.version,
                    script: Arc::new(Script {
                        checksum: m.checksum,
                        source: m.source,
                    }),
                })
            });
        self.active
            .lock()
            .expect("script cache")
            .insert(key, (Instant::now(), found.clone()));
        Ok(found)
    }

    /// Runs the active script of (provider, topic) on `input`; answers the
    /// outcome and the version that produced it.
    pub async fn run(
        &self,
        provider: &str,
        topic: &str,
        input: &Value,
    ) -> Result<(Outcome, String), TransformError> {
        let active =
            self.active(provider, topic)
                .await?
                .ok_or_else(|| TransformError::NoActiveScript {
                    provider: provider.into(),
                    topic: topic.into(),
                })?;
        let outcome = self
            .run_script(active.script.clone(), input)
            .await
            .map_err(|error| TransformError::Failed {
                provider: provider.into(),
                topic: topic.into(),
                version: active.version.clone(),
                error,
            })?;
        Ok((outcome, active.version.clone()))
    }

    /// Compiles a script without running it (deploy checks every file).
    pub async fn check(&self, script: Arc<Script>) -> Result<(), SandboxError> {
        self.sandbox.check(script).await
    }

    /// Runs any script (an inactive version, for "try before activating").
    pub async fn run_script(
        &self,
        script: Arc<Script>,
        input: &Value,
    ) -> Result<Outcome, SandboxError> {
        let out = self.sandbox.run(script, input.to_string()).await?;
        let value: Value =
            serde_json::from_str(&out).map_err(|e| SandboxError::Threw(e.to_string()))?;
        Ok(match value.get("skip") {
            Some(Value::Bool(true)) => Outcome::Skip {
                reason: value
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("skipped by the script")
                    .to_string(),
            },
            _ => Outcome::Output(value),
        })
    }
}
