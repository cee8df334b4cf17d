//! `restopos`: a generic restaurant-POS webhook shape (menu, item
//! availability, store status), for POS systems that let the merchant point
//! webhooks at a URL. docs/inbound.md documents it for partners.
//!
//! - `X-Restopos-Account`: the POS account (one per merchant).
//! - `X-Restopos-Timestamp`: Unix seconds; refused outside ±5 minutes.
//! - `X-Restopos-Signature`: hex HMAC-SHA256 of `"{timestamp}.{raw body}"`.
//! - `X-Restopos-Event-Id`: unique per event (the idempotency key).
use serde::Deserialize;

use crate::domain::inbound::adapter::{
    Delivery, Family, ParseFailure, Parsed, ProviderAdapter, SourceCommand, Topic,
};
use crate::domain::inbound::verify::{self, AuthFailure, Digest, Encoding};

/// Signed timestamps older or newer than this are refused.
pub const TOLERANCE_SECS: i64 = 300;

pub struct RestoPos;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuBody {
    store_id: String,
    items: Vec<MenuItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuItem {
    sku: String,
    name: String,
    #[serde(default)]
    category: Option<String>,
    price: serde_json::Value,
    currency: String,
    #[serde(default)]
    available: Option<bool>,
    /// Sizes or flavours, each with its own price (the item's currency).
    #[serde(default)]
    variants: Vec<MenuVariant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuVariant {
    id: String,
    name: String,
    price: serde_json::Value,
    #[serde(default)]
    available: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryBody {
    store_id: String,
    items: Vec<Availability>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Availability {
    sku: String,
    available: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    store_id: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

/// A price as text, whether the provider sent a JSON number or a string.
fn price_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn malformed(e: serde_json::Error) -> ParseFailure {
    ParseFailure::Malformed(format!("not a restopos payload: {e}"))
}

impl ProviderAdapter for RestoPos {
    fn name(&self) -> &'static str {
        "restopos"
    }

    fn family(&self) -> Family {
        Family::Pos
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::Menu, Topic::Inventory, Topic::StoreStatus]
    }

    fn account(&self, d: &Delivery) -> Result<String, AuthFailure> {
        d.account_header("x-restopos-account")
    }

    fn verify(&self, d: &Delivery, secret: &[u8], now_unix: i64) -> Result<(), AuthFailure> {
        let ts = d.header("x-restopos-timestamp");
        let signature = d.header("x-restopos-signature");
        if signature.is_none() {
            return Err(AuthFailure::MissingSignature);
        }
        verify::fresh(ts, now_unix, TOLERANCE_SECS)?;
        let mut message = Vec::with_capacity(d.body.len() + 12);
        message.extend_from_slice(ts.unwrap_or_default().trim().as_bytes());
        message.push(b'.');
        message.extend_from_slice(d.body);
        verify::check(Digest::Sha256, Encoding::Hex, secret, &message, signature)
    }

    fn idempotency_key(&self, d: &Delivery) -> Option<String> {
        d.header("x-restopos-event-id")
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .map(|id| format!("event:{id}"))
    }

    fn parse(&self, topic: Topic, body: &[u8]) -> Result<Parsed, ParseFailure> {
        match topic {
            Topic::Menu => {
                let b: MenuBody = serde_json::from_slice(body).map_err(malformed)?;
                Ok(Parsed {
                    store: Some(b.store_id),
                    commands: b
                        .items
                        .into_iter()
                        .flat_map(|i| {
                            let variants: Vec<SourceCommand> = i
                                .variants
                                .iter()
                                .map(|v| SourceCommand::Variant {
                                    sku: i.sku.clone(),
                                    variant: v.id.clone(),
                                    name: v.name.clone(),
                                    price: price_text(&v.price),
                                    currency: i.currency.clone(),
                                    available: v.available,
                                })
                                .collect();
                            std::iter::once(SourceCommand::Item {
                                sku: i.sku,
                                name: i.name,
                                category: i.category,
                                price: price_text(&i.price),
                                currency: i.currency,
                                unit: None,
                                available: i.available,
                            })
                            .chain(variants)
                        })
                        .collect(),
                })
            }
            Topic::Inventory => {
                let b: InventoryBody = serde_json::from_slice(body).map_err(malformed)?;
                Ok(Parsed {
                    store: Some(b.store_id),
                    commands: b
                        .items
                        .into_iter()
                        .map(|i| SourceCommand::Availability {
                            sku: i.sku,
                            available: i.available,
                        })
                        .collect(),
                })
            }
            Topic::StoreStatus => {
                let b: StatusBody = serde_json::from_slice(body).map_err(malformed)?;
                let open = match b.status.as_str() {
                    "open" => true,
                    "closed" => false,
                    other => {
                        return Err(ParseFailure::Malformed(format!(
                            "status must be open or closed (got {other:?})"
                        )))
                    }
                };
                Ok(Parsed {
                    store: Some(b.store_id),
                    commands: vec![SourceCommand::StoreStatus {
                        open,
                        reason: b.reason,
                    }],
                })
            }
            other => Err(ParseFailure::Malformed(format!(
                "restopos does not post {}",
                other.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Delivery<'a> {
        Delivery {
            topic: Topic::Menu,
            headers,
            body,
            remote_ip: None,
            url: "https://plugboard.test/hook",
        }
    }

    fn signed(body: &[u8], ts: i64, secret: &[u8]) -> Vec<(String, String)> {
        let mut msg = format!("{ts}.").into_bytes();
        msg.extend_from_slice(body);
        vec![
            ("x-restopos-account".into(), "acct-1".into()),
            ("x-restopos-timestamp".into(), ts.to_string()),
            (
                "x-restopos-signature".into(),
                verify::sign(Digest::Sha256, Encoding::Hex, secret, &msg),
            ),
            ("x-restopos-event-id".into(), "evt-9".into()),
        ]
    }

    #[test]
    fn verifies_signature_and_timestamp() {
        let body = br#"{"store_id":"s1","items":[]}"#;
        let h = signed(body, 1_000, b"k");
        let d = delivery(&h, body);
        assert_eq!(RestoPos.account(&d), Ok("acct-1".into()));
        assert_eq!(RestoPos.verify(&d, b"k", 1_100), Ok(()));
        assert_eq!(
            RestoPos.verify(&d, b"wrong", 1_100),
            Err(AuthFailure::SignatureMismatch)
        );
        assert_eq!(
            RestoPos.verify(&d, b"k", 2_000),
            Err(AuthFailure::StaleTimestamp)
        );
        let tampered = delivery(&h, br#"{"store_id":"s2","items":[]}"#);
        assert_eq!(
            RestoPos.verify(&tampered, b"k", 1_100),
            Err(AuthFailure::SignatureMismatch)
        );
        assert_eq!(RestoPos.idempotency_key(&d).as_deref(), Some("event:evt-9"));
    }

    #[test]
    fn parses_each_topic() {
        let menu = br#"{"store_id":"s1","items":[{"sku":"A1","name":"Nasi","price":25000,"currency":"IDR","variants":[{"id":"A1-L","name":"Large","price":"30000"}]}]}"#;
        let p = RestoPos.parse(Topic::Menu, menu).unwrap();
        assert_eq!(p.store.as_deref(), Some("s1"));
        assert!(matches!(&p.commands[0], SourceCommand::Item { price, .. } if price == "25000"));
        assert!(
            matches!(&p.commands[1], SourceCommand::Variant { sku, variant, price, currency, .. }
                if sku == "A1" && variant == "A1-L" && price == "30000" && currency == "IDR")
        );
        let inv = br#"{"store_id":"s1","items":[{"sku":"A1","available":false}]}"#;
        assert_eq!(
            RestoPos.parse(Topic::Inventory, inv).unwrap().commands,
            vec![SourceCommand::Availability {
                sku: "A1".into(),
                available: false
            }]
        );
        let st = br#"{"store_id":"s1","status":"closed","reason":"rain"}"#;
        assert!(matches!(
            RestoPos.parse(Topic::StoreStatus, st).unwrap().commands[0],
            SourceCommand::StoreStatus { open: false, .. }
        ));
        assert!(RestoPos
            .parse(Topic::StoreStatus, br#"{"store_id":"s1","status":"maybe"}"#)
            .is_err());
        assert!(RestoPos.parse(Topic::Menu, b"not json").is_err());
    }
}
