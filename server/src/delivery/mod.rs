//! The delivery engine: every outbound request — signed partner webhooks
//! and POS-native order requests — goes through [`Engine::attempt`], which
//! builds the request, sends it with the policy-checked client, classifies
//! the answer and records the attempt. [`worker`] drives the durable queue;
//! order dispatch calls the engine inline for the first attempt.
//! Design: docs/webhooks.md.

pub mod client;
pub mod pos;
pub mod worker;

use std::sync::Arc;
use std::time::Instant;

use app::domain::group_commit::GroupCommit;
use app::domain::inbound::write_gate::WriteGate;
use app::domain::outbound::deliveries::{self, Timing};
use app::domain::outbound::endpoints;
use app::domain::outbound::outcome::{self, Answer, Outcome, Receiver};
use app::domain::outbound::signing::{self, Signed};
use app::domain::outbound::url_policy::UrlPolicy;
use app::domain::scripts::Transformers;
use app::error::AppResult;
use entity::crypto::SharedKeyRing;
use entity::{delivery, webhook_endpoint};
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::Notify;

/// Largest answer body read from a receiver.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A request ready to send.
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub receiver: Receiver,
}

/// Why a delivery cannot be attempted.
pub enum NotSent {
    /// Never sendable as it stands (endpoint gone or disabled, no
    /// credentials): the delivery fails with this reason.
    Unsendable(String),
    /// This attempt fails (recorded, retried on the schedule).
    Attempt(Outcome),
}

/// Everything the engine needs; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub db: DatabaseConnection,
    pub keys: Arc<SharedKeyRing>,
    pub client: reqwest::Client,
    pub policy: UrlPolicy,
    pub timing: Timing,
    pub transformers: Transformers,
    /// Wakes the worker when something new is due.
    pub wake: Arc<Notify>,
    /// SQLite's single-writer gate (shared with the inbound gateway), so
    /// writers queue instead of sleeping in SQLite's busy handler; `None`
    /// on PostgreSQL.
    pub gate: Option<Arc<WriteGate>>,
    /// Where an inline attempt's record is written: with other callers'
    /// writes, in one commit.
    pub writes: GroupCommit,
}

impl Engine {
    /// Attempts one claimed delivery and records the attempt (in the next
    /// group commit, with other callers' writes); answers the delivery as
    /// it is now and what the attempt came to.
    pub async fn attempt(&self, d: delivery::Model) -> AppResult<(delivery::Model, Outcome)> {
        let started = Instant::now();
        let outcome = self.outcome_of(&d).await;
        let latency = started.elapsed();
        let (timing, recorded, what) = (self.timing, d.clone(), outcome.clone());
        let updated = self
            .writes
            .write(move |txn| {
                Box::pin(async move {
                    deliveries::record_attempt(txn, &timing, &recorded, &what, latency).await
                })
            })
            .await?;
        tracing::debug!(
            delivery = %d.id,
            attempt = updated.attempts,
            outcome = outcome.kind,
            status = ?outcome.status_code,
            latency_ms = latency.as_millis() as u64,
            "delivery attempted"
        );
        Ok((updated, outcome))
    }

    /// The write gate for a caller who is waiting (an API request).
    pub async fn urgent_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.gate {
            Some(g) => Some(g.urgent().await),
            None => None,
        }
    }

    /// The write gate for background work (the workers).
    pub async fn background_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.gate {
            Some(g) => Some(g.background().await),
            None => None,
        }
    }

    /// Builds and sends one delivery's request; answers how it went,
    /// without recording it.
    pub async fn outcome_of(&self, d: &delivery::Model) -> Outcome {
        self.outcome_with(d, None).await
    }

    /// [`Self::outcome_of`] with the delivery's endpoint already read (the
    /// worker reads a batch's endpoints in one query).
    pub async fn outcome_with(
        &self,
        d: &delivery::Model,
        endpoint: Option<Arc<webhook_endpoint::Model>>,
    ) -> Outcome {
        match self.prepare(d, endpoint).await {
            Ok(req) => self.send(req).await,
            Err(NotSent::Attempt(outcome)) => outcome,
            Err(NotSent::Unsendable(reason)) => Outcome::unsendable(reason),
        }
    }

    async fn prepare(
        &self,
        d: &delivery::Model,
        endpoint: Option<Arc<webhook_endpoint::Model>>,
    ) -> Result<Prepared, NotSent> {
        match d.target.as_str() {
            delivery::target::WEBHOOK => self.prepare_webhook(d, endpoint).await,
            delivery::target::POS => pos::prepare(self, d).await,
            other => Err(NotSent::Unsendable(format!(
                "unknown delivery target {other:?}"
            ))),
        }
    }

    async fn prepare_webhook(
        &self,
        d: &delivery::Model,
        preloaded: Option<Arc<webhook_endpoint::Model>>,
    ) -> Result<Prepared, NotSent> {
        let internal = |_| NotSent::Unsendable("internal error reading the endpoint".into());
        let endpoint = match (preloaded, d.endpoint_id) {
            (Some(e), _) => Some((*e).clone()),
            (None, Some(id)) => webhook_endpoint::Entity::find_by_id(id)
                .one(&self.db)
                .await
                .map_err(internal)?,
            (None, None) => None,
        };
        let Some(endpoint) = endpoint else {
            return Err(NotSent::Unsendable("the endpoint was deleted".into()));
        };
        if !endpoint.enabled {
            return Err(NotSent::Unsendable(format!(
                "the endpoint is disabled: {}",
                endpoint
                    .disabled_reason
                    .as_deref()
                    .unwrap_or("by the merchant")
            )));
        }
        let url = self.policy.check_url(&endpoint.url).map_err(|e| {
            NotSent::Attempt(outcome::classify(
                Receiver::Callback,
                Answer::Transport(e.to_string()),
            ))
        })?;
        let secrets = endpoints::signing_secrets(&self.keys.current(), &endpoint)
            .map_err(|_| NotSent::Unsendable("the endpoint's secret cannot be opened".into()))?;
        let id = d.id.to_string();
        let headers = signing::headers(
            &endpoint.format,
            &secrets,
            &Signed {
                delivery_id: &id,
                event_type: &d.event_type,
                timestamp: entity::now().unix_timestamp(),
                body: &d.body,
            },
        );
        Ok(Prepared {
            method: reqwest::Method::POST,
            url,
            headers,
            body: d.body.clone(),
            receiver: Receiver::Callback,
        })
    }

    /// Sends a prepared request and classifies the answer.
    pub async fn send(&self, req: Prepared) -> Outcome {
        let mut builder = self.client.request(req.method, req.url).body(req.body);
        let own_type = req
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if !own_type {
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        match builder.send().await {
            Err(e) => outcome::classify(req.receiver, Answer::Transport(transport_error(&e))),
            Ok(mut response) => {
                let status = response.status().as_u16();
                let mut body = Vec::new();
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) => {
                            let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
                            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                            if room <= chunk.len() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            return outcome::classify(
                                req.receiver,
                                Answer::Transport(transport_error(&e)),
                            )
                        }
                    }
                }
                outcome::classify(
                    req.receiver,
                    Answer::Http {
                        status,
                        body: &body,
                    },
                )
            }
        }
    }

    /// Claims and attempts one delivery now (order dispatch's first
    /// attempt); `None` if a worker holds it or an earlier delivery of the
    /// same order must go first.
    pub async fn attempt_now(
        &self,
        d: delivery::Model,
    ) -> AppResult<Option<(delivery::Model, Outcome)>> {
        if d.claimed_until.is_some() {
            // Claimed for this caller when it was queued.
            return self.attempt(d).await.map(Some);
        }
        if deliveries::waits_behind(&self.db, &d).await? {
            return Ok(None);
        }
        let claimed = {
            let _turn = self.urgent_turn().await;
            deliveries::claim(&self.db, d.id, entity::now()).await?
        };
        if !claimed {
            return Ok(None);
        }
        self.attempt(d).await.map(Some)
    }
}

/// A transport error as one readable line, with its cause (reqwest's own
/// message alone is often just "error sending request").
fn transport_error(e: &reqwest::Error) -> String {
    let mut message = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

impl app::domain::outbound::Sender for Engine {
    fn attempt_now(&self, d: delivery::Model) -> app::domain::outbound::AttemptFuture<'_> {
        Box::pin(Engine::attempt_now(self, d))
    }

    fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the engine's workers: the delivery queue and the capability
/// dispatcher reading order events from the outbox.
pub fn spawn_workers(engine: &Engine) {
    worker::spawn(engine.clone());
    let engine = engine.clone();
    tokio::spawn(async move {
        loop {
            let round = {
                let _turn = engine.background_turn().await;
                app::domain::capabilities::consumer::run_once(
                    &engine.db,
                    &engine.keys.current(),
                    100,
                )
                .await
            };
            match round {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "capability dispatch round failed"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    });
}
