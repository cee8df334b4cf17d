//! QRIS payments (seed 003): a charge is created through the merchant's
//! payment providers in priority order — Midtrans first and Xendit as the
//! backup unless the location says otherwise — failing over on a transport
//! error, a timeout or a 5xx without the caller noticing; the provider's
//! notification comes back through the inbound gateway and moves the order
//! to PAID through the one order status service.
//!
//! Providers sit behind [`PaymentProvider`]: it builds the provider's HTTP
//! request and reads its answers and notifications, so the same code runs
//! against the real APIs and against the local fakes the tests use.
pub mod charge;
pub mod factory;
pub mod items;
pub mod midtrans;
pub mod notify;
pub mod xendit;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::domain::inbound::verify::AuthFailure;

/// Outbox topic of payment events (`payment.created`, `payment.paid`, …).
pub const TOPIC: &str = "payments.events";

/// The inbound gateway family of payment notifications.
pub const FAMILY: &str = "payment";

/// One line of the charge as the provider sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineItem {
    pub id: String,
    pub name: String,
    /// Unit price in minor units of the charge's currency.
    pub price_minor: i64,
    pub quantity: i64,
}

/// What a provider is asked to charge.
#[derive(Clone, Debug)]
pub struct ChargeInput {
    /// Plugboard's payment id, which the provider echoes back in its
    /// notifications (Midtrans `order_id`, Xendit `reference_id`).
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
    pub items: Vec<LineItem>,
    pub expires_at: OffsetDateTime,
    /// Where the provider should post its notification.
    pub notification_url: String,
}

/// An HTTP request a provider expects, ready to send.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A charge the provider created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub transaction_id: String,
    pub qr_string: String,
    /// The amount exactly as sent (`"25000"`).
    pub gross_amount: String,
}

/// Why a provider did not create the charge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    #[error("unreachable: {0}")]
    Transport(String),
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("HTTP {status}: {message}")]
    Unavailable { status: u16, message: String },
    #[error("refused the charge (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("answered in a shape Plugboard does not understand: {0}")]
    Malformed(String),
    #[error("not configured: {0}")]
    NotConfigured(String),
}

impl ChargeError {
    /// Whether the next provider should be tried: the provider is down or
    /// misbehaving. A refusal of the request itself (4xx) is not failed
    /// over: the backup would refuse it as well.
    pub fn fails_over(&self) -> bool {
        !matches!(self, ChargeError::Rejected { .. })
    }
}

/// What a verified notification says about a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeOutcome {
    Paid,
    Pending,
    Expired,
    Failed,
}

/// A notification, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The payment id the charge was created with.
    pub reference: String,
    pub transaction_id: String,
    pub outcome: NoticeOutcome,
    /// The provider's status word, for the record.
    pub provider_status: String,
    /// The amount the provider says was paid, as it wrote it.
    pub gross_amount: Option<String>,
}

/// A payment provider: its charge request and answer, its notification's
/// verification and meaning. Adding a provider is one module implementing
/// this plus one line in [`providers`].
pub trait PaymentProvider: Send + Sync {
    /// The integration slug (`midtrans`).
    fn name(&self) -> &'static str;
    /// The priority when the install does not set one (lower goes first).
    fn default_priority(&self) -> i64;
    /// The provider's API when the operator configured none (production).
    fn default_base_url(&self, settings: &Map<String, Value>) -> String;
    /// The install settings a charge needs, named for the error message.
    fn credentials_ready(&self, settings: &Map<String, Value>) -> Result<(), String>;
    /// The request that creates the charge.
    fn charge_request(
        &self,
        base_url: &str,
        settings: &Map<String, Value>,
        charge: &ChargeInput,
    ) -> HttpRequest;
    /// Reads the provider's answer to [`Self::charge_request`].
    fn read_charge(&self, status: u16, body: &[u8]) -> Result<Created, ChargeError>;
    /// The payment a notification is about (read before verifying, to find
    /// the install whose secret verifies it).
    fn notification_reference(&self, body: &[u8]) -> Option<String>;
    /// Checks the notification with the install's secrets.
    fn verify_notification(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        settings: &Map<String, Value>,
    ) -> Result<(), AuthFailure>;
    /// Reads a verified notification.
    fn read_notification(&self, body: &[u8]) -> Result<Notice, String>;
    /// The notification's idempotency key: a repeat of the same news is a
    /// duplicate.
    fn notification_key(&self, headers: &[(String, String)], body: &[u8]) -> Option<String>;
}

static PROVIDERS: &[&dyn PaymentProvider] = &[&midtrans::Midtrans, &xendit::Xendit];

/// Every payment provider.
pub fn providers() -> &'static [&'static dyn PaymentProvider] {
    PROVIDERS
}

/// The provider named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static dyn PaymentProvider> {
    PROVIDERS.iter().copied().find(|p| p.name() == name)
}

/// Where the providers are and how long to wait for them: operator
/// configuration, so tests point them at local fakes.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL per provider (`https://api.midtrans.com`).
    pub base_urls: Vec<(String, String)>,
    /// Base of the URLs providers post notifications to.
    pub public_url: String,
    /// One provider call without an answer after this long fails over.
    pub timeout: std::time::Duration,
    /// Whether the payment simulator may be used (development only).
    pub simulator: bool,
    pub client: reqwest::Client,
}

impl Settings {
    /// The base URL of `provider`.
    pub fn base_url(&self, provider: &str) -> Option<&str> {
        self.base_urls
            .iter()
            .find(|(p, _)| p == provider)
            .map(|(_, u)| u.trim_end_matches('/'))
    }

    /// Where `provider` posts its notifications.
    pub fn notification_url(&self, provider: &str) -> String {
        format!(
            "{}/v1/integrations/payments/{provider}/notifications",
            self.public_url.trim_end_matches('/')
        )
    }
}

/// A header's value (names compare case-insensitively).
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A JSON field as text, whether the provider sent a string or a number.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A setting as text, when present and not empty.
pub(crate) fn setting<'a>(settings: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    settings
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The QR code of a QRIS payload as an SVG image.
pub fn qr_svg(payload: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
        Err(e) => {
            tracing::warn!(error = %e, "QR payload cannot be encoded");
            String::new()
        }
    }
}

/// Development only: asks the provider fake to pay `payment_id` (it posts
/// the provider's signed notification back through the inbound gateway,
/// as the real provider would); answers the gateway's HTTP status.
pub async fn simulate<C: sea_orm::ConnectionTrait>(
    db: &C,
    settings: &Settings,
    merchant_id: uuid::Uuid,
    payment_id: uuid::Uuid,
) -> crate::error::AppResult<u16> {
    use crate::error::AppError;
    if !settings.simulator {
        return Err(AppError::NotFound(
            "The payment simulator is available in the development configuration only.".into(),
        ));
    }
    let p = entity::payment::Entity::find_for_merchant(db, merchant_id, payment_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such payment.".into()))?;
    if p.status != entity::payment::status::PENDING {
        return Err(AppError::Conflict(format!(
            "The payment is {} already.",
            p.status
        )));
    }
    if p.expires_at <= entity::now() {
        return Err(AppError::Conflict(
            "The QR has expired; create a new charge.".into(),
        ));
    }
    let base = settings
        .base_url(&p.provider)
        .ok_or_else(|| AppError::Unavailable(format!("No {} fake is configured.", p.provider)))?;
    let body = match p.provider.as_str() {
        "midtrans" => serde_json::json!({"order_id": p.id}),
        _ => serde_json::json!({"reference_id": p.id}),
    };
    let answer = settings
        .client
        .post(format!("{base}/_fake/pay"))
        .timeout(settings.timeout)
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            AppError::Unavailable(format!(
                "The {} fake did not answer: {}",
                p.provider,
                e.without_url()
            ))
        })?;
    let status = answer.status().as_u16();
    let v: serde_json::Value = answer.json().await.unwrap_or_default();
    match v.get("receiverStatus").and_then(serde_json::Value::as_u64) {
        Some(code) if status == 200 => Ok(code as u16),
        _ => Err(AppError::Unavailable(format!(
            "The {} fake could not send the notification (HTTP {status}): {}",
            p.provider,
            v.get("error")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("not a fake")
        ))),
    }
}
