//! `wms`: a generic warehouse ERP/WMS stock webhook (stock deltas from
//! receiving, returns, transfers, pick-pack shortages; or counted levels).
//!
//! - `X-Wms-Account`: the WMS tenant (one per merchant).
//! - `X-Wms-Signature`: base64 HMAC-SHA1 of the raw body (the algorithm
//!   many WMS products still use).
//! - Body: `{"movement_id", "warehouse_id", "movements": [{"sku", "delta"
//!   or "level", "unit"}]}`; `movement_id` is the idempotency key.
use serde::Deserialize;

use crate::domain::inbound::adapter::{
    Delivery, Family, ParseFailure, Parsed, ProviderAdapter, SourceCommand, Topic,
};
use crate::domain::inbound::verify::{self, AuthFailure, Digest, Encoding};

pub struct Wms;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockBody {
    movement_id: String,
    warehouse_id: String,
    movements: Vec<Movement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Movement {
    sku: String,
    #[serde(default)]
    delta: Option<serde_json::Value>,
    #[serde(default)]
    level: Option<serde_json::Value>,
    #[serde(default)]
    unit: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    movement_id: Option<String>,
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl ProviderAdapter for Wms {
    fn name(&self) -> &'static str {
        "wms"
    }

    fn family(&self) -> Family {
        Family::Erp
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::Stock]
    }

    fn account(&self, d: &Delivery) -> Result<String, AuthFailure> {
        d.account_header("x-wms-account")
    }

    fn verify(&self, d: &Delivery, secret: &[u8], _now_unix: i64) -> Result<(), AuthFailure> {
        verify::check(
            Digest::Sha1,
            Encoding::Base64,
            secret,
            d.body,
            d.header("x-wms-signature"),
        )
    }

    fn idempotency_key(&self, d: &Delivery) -> Option<String> {
        serde_json::from_slice::<IdOnly>(d.body)
            .ok()
            .and_then(|b| b.movement_id)
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .map(|id| format!("movement:{id}"))
    }

    fn parse(&self, topic: Topic, body: &[u8]) -> Result<Parsed, ParseFailure> {
        if topic != Topic::Stock {
            return Err(ParseFailure::Malformed(format!(
                "wms does not post {}",
                topic.as_str()
            )));
        }
        let b: StockBody = serde_json::from_slice(body)
            .map_err(|e| ParseFailure::Malformed(format!("not a wms payload: {e}")))?;
        let _ = b.movement_id;
        let mut commands = Vec::with_capacity(b.movements.len());
        for m in b.movements {
            commands.push(match (m.delta, m.level) {
                (Some(d), None) => SourceCommand::StockDelta {
                    sku: m.sku,
                    delta: text(&d),
                    unit: m.unit,
                },
                (None, Some(l)) => SourceCommand::StockLevel {
                    sku: m.sku,
                    level: text(&l),
                    unit: m.unit,
                },
                _ => {
                    return Err(ParseFailure::Malformed(format!(
                        "movement of {} needs exactly one of delta or level",
                        m.sku
                    )))
                }
            });
        }
        Ok(Parsed {
            store: Some(b.warehouse_id),
            commands,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_sha1_and_parses_movements() {
        let body = br#"{"movement_id":"mv-1","warehouse_id":"wh-1","movements":[{"sku":"A","delta":-3},{"sku":"B","level":"12","unit":"kg"}]}"#;
        let sig = verify::sign(Digest::Sha1, Encoding::Base64, b"k", body);
        let headers = vec![
            ("x-wms-account".to_string(), "t-1".to_string()),
            ("x-wms-signature".to_string(), sig),
        ];
        let d = Delivery {
            topic: Topic::Stock,
            headers: &headers,
            body,
            remote_ip: None,
            url: "https://plugboard.test/hook",
        };
        assert_eq!(Wms.verify(&d, b"k", 0), Ok(()));
        assert_eq!(Wms.verify(&d, b"x", 0), Err(AuthFailure::SignatureMismatch));
        assert_eq!(Wms.idempotency_key(&d).as_deref(), Some("movement:mv-1"));
        let p = Wms.parse(Topic::Stock, body).unwrap();
        assert_eq!(p.store.as_deref(), Some("wh-1"));
        assert_eq!(
            p.commands[0],
            SourceCommand::StockDelta {
                sku: "A".into(),
                delta: "-3".into(),
                unit: None
            }
        );
        let both = br#"{"movement_id":"m","warehouse_id":"w","movements":[{"sku":"A","delta":1,"level":2}]}"#;
        assert!(Wms.parse(Topic::Stock, both).is_err());
    }
}
