//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`:
//! every engine this process uses answers: database, payload store, and
//! NATS and Redis when configured). A load balancer sends traffic only to
//! ready replicas; an orchestrator restarts only dead ones.
use std::sync::Arc;
use std::time::Duration;

use app::domain::inbound::blob::BlobStore;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A check gives up after this long and counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What the health routes look at.
#[derive(Clone)]
pub struct Probes {
    pub db: DatabaseConnection,
    pub blobs: Arc<dyn BlobStore>,
    /// The event stream's connection, when `nats_url` is set.
    pub nats: Option<crate::stream::nats::NatsHandle>,
    /// Redis, when `redis_url` is set.
    pub redis: Option<redis::Client>,
    /// `all`, `api` or `worker`.
    pub role: &'static str,
}

/// Liveness answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    /// What this process runs: `all`, `api` or `worker`.
    pub role: &'static str,
}

/// Readiness answer.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `unready` when a check failed.
    pub status: &'static str,
    /// One entry per engine this process uses.
    pub checks: Vec<Check>,
}

/// One engine's check.
#[derive(Serialize, ToSchema)]
pub struct Check {
    /// `database`, `payload_store`, `nats` or `redis`.
    pub name: &'static str,
    /// `sqlite`, `postgres`, `local`, `s3`, `jetstream`, `redis`.
    pub backend: &'static str,
    pub ok: bool,
    /// Why it failed (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn healthz(State(probes): State<Probes>) -> Json<Health> {
    Json(Health {
        status: "ok",
        role: probes.role,
    })
}

/// Every engine answers.
#[utoipa::path(get, path = "/readyz", tag = "meta",
    responses((status = 200, description = "Ready", body = Readiness),
              (status = 503, description = "At least one engine does not answer; `checks` says which", body = Readiness)))]
pub async fn readyz(State(probes): State<Probes>) -> (StatusCode, Json<Readiness>) {
    let db_backend = match probes.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "postgres",
        _ => "sqlite",
    };
    let database = check("database", db_backend, async {
        probes.db.ping().await.map_err(|e| e.to_string())
    });
    let blobs = check("payload_store", probes.blobs.backend(), async {
        probes.blobs.check().await.map_err(|e| e.to_string())
    });
    let nats = async {
        match &probes.nats {
            Some(n) => Some(check("nats", "jetstream", n.check()).await),
            None => None,
        }
    };
    let redis = async {
        match &probes.redis {
            Some(client) => Some(check("redis", "redis", ping_redis(client)).await),
            None => None,
        }
    };
    let (database, blobs, nats, redis) = tokio::join!(database, blobs, nats, redis);
    let checks: Vec<Check> = [Some(database), Some(blobs), nats, redis]
        .into_iter()
        .flatten()
        .collect();
    let ready = checks.iter().all(|c| c.ok);
    for failed in checks.iter().filter(|c| !c.ok) {
        tracing::warn!(check = failed.name, error = ?failed.error, "readiness check failed");
    }
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(Readiness {
            status: if ready { "ready" } else { "unready" },
            checks,
        }),
    )
}

async fn check(
    name: &'static str,
    backend: &'static str,
    probe: impl std::future::Future<Output = Result<(), String>>,
) -> Check {
    let error = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    };
    Check {
        name,
        backend,
        ok: error.is_none(),
        error,
    }
}

async fn ping_redis(client: &redis::Client) -> Result<(), String> {
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The health routes, with their OpenAPI description.
pub fn router(probes: Probes) -> (axum::Router, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .split_for_parts();
    (router.with_state(probes), doc)
}
