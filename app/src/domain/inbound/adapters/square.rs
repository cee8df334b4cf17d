//! `square`: Square's `inventory.count.updated` webhook, as Square documents
//! it (developer.squareup.com, "Validate notifications" and the Inventory
//! API's webhook events). The body is Square's; the active JS transformer
//! `scripts/adapters/square/inventory.js` turns it into commands, so a change
//! in Square's shape is a script deploy, not a release.
//!
//! - `x-square-hmacsha256-signature`: base64 HMAC-SHA256, keyed with the
//!   subscription's signature key, of the notification URL followed by the
//!   raw body.
//! - Body: `{"merchant_id", "type", "event_id", "created_at", "data": {"object":
//!   {"inventory_counts": [...]}}}`; `merchant_id` names the account and
//!   `event_id` is the idempotency key.
use serde::Deserialize;

use crate::domain::inbound::adapter::{Delivery, Family, ProviderAdapter, Topic};
use crate::domain::inbound::verify::{self, AuthFailure, Digest, Encoding};

pub struct Square;

#[derive(Deserialize)]
struct Envelope {
    merchant_id: Option<String>,
    event_id: Option<String>,
}

fn envelope(body: &[u8]) -> Option<Envelope> {
    serde_json::from_slice(body).ok()
}

impl ProviderAdapter for Square {
    fn name(&self) -> &'static str {
        "square"
    }

    fn family(&self) -> Family {
        Family::Pos
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::Inventory]
    }

    fn account(&self, d: &Delivery) -> Result<String, AuthFailure> {
        envelope(d.body)
            .and_then(|e| e.merchant_id)
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .ok_or(AuthFailure::UnknownAccount)
    }

    fn verify(&self, d: &Delivery, secret: &[u8], _now_unix: i64) -> Result<(), AuthFailure> {
        let mut signed = Vec::with_capacity(d.url.len() + d.body.len());
        signed.extend_from_slice(d.url.as_bytes());
        signed.extend_from_slice(d.body);
        verify::check(
            Digest::Sha256,
            Encoding::Base64,
            secret,
            &signed,
            d.header("x-square-hmacsha256-signature"),
        )
    }

    fn idempotency_key(&self, d: &Delivery) -> Option<String> {
        envelope(d.body).and_then(|e| e.event_id)
    }

    fn scripted(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://plugboard.example/v1/integrations/pos/square/webhooks/inventory";

    fn delivery<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Delivery<'a> {
        Delivery {
            topic: Topic::Inventory,
            headers,
            body,
            remote_ip: None,
            url: URL,
        }
    }

    #[test]
    fn signs_the_url_and_the_body() {
        let body = br#"{"merchant_id":"M1","event_id":"e-1","type":"inventory.count.updated"}"#;
        let mut message = URL.as_bytes().to_vec();
        message.extend_from_slice(body);
        let sig = verify::sign(Digest::Sha256, Encoding::Base64, b"key", &message);
        let headers = vec![("x-square-hmacsha256-signature".to_string(), sig.clone())];
        let d = delivery(&headers, body);
        assert_eq!(Square.account(&d), Ok("M1".into()));
        assert_eq!(Square.idempotency_key(&d), Some("e-1".into()));
        assert_eq!(Square.verify(&d, b"key", 0), Ok(()));
        assert_eq!(
            Square.verify(&d, b"other", 0),
            Err(AuthFailure::SignatureMismatch)
        );
        // Signed for another URL: refused.
        let elsewhere = Delivery {
            url: "https://evil.example/hook",
            ..delivery(&headers, body)
        };
        assert_eq!(
            Square.verify(&elsewhere, b"key", 0),
            Err(AuthFailure::SignatureMismatch)
        );
        assert_eq!(
            Square.account(&delivery(&headers, b"not json")),
            Err(AuthFailure::UnknownAccount)
        );
    }
}
