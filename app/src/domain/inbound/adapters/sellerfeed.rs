//! `sellerfeed`: a generic seller/brand product feed, posted as one bulk
//! import (thousands of rows per call).
//!
//! - `X-Seller-Account`: the seller account; `X-Api-Key`: the connection
//!   secret, compared in constant time.
//! - Body: `{"feed_id", "store_id", "rows": [{"sku", "name", "category",
//!   "price", "currency", "unit"}]}`; `feed_id` is the idempotency key.
use serde::Deserialize;

use crate::domain::inbound::adapter::{
    Delivery, Family, ParseFailure, Parsed, ProviderAdapter, SourceCommand, Topic,
};
use crate::domain::inbound::verify::{self, AuthFailure};

pub struct SellerFeed;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Feed {
    feed_id: String,
    store_id: String,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    sku: String,
    name: String,
    #[serde(default)]
    category: Option<String>,
    price: serde_json::Value,
    currency: String,
    #[serde(default)]
    unit: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    feed_id: Option<String>,
}

impl ProviderAdapter for SellerFeed {
    fn name(&self) -> &'static str {
        "sellerfeed"
    }

    fn family(&self) -> Family {
        Family::Seller
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::Import]
    }

    fn account(&self, d: &Delivery) -> Result<String, AuthFailure> {
        d.account_header("x-seller-account")
    }

    fn verify(&self, d: &Delivery, secret: &[u8], _now_unix: i64) -> Result<(), AuthFailure> {
        verify::api_key(secret, d.header("x-api-key"))
    }

    fn idempotency_key(&self, d: &Delivery) -> Option<String> {
        serde_json::from_slice::<IdOnly>(d.body)
            .ok()
            .and_then(|b| b.feed_id)
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .map(|id| format!("feed:{id}"))
    }

    fn parse(&self, topic: Topic, body: &[u8]) -> Result<Parsed, ParseFailure> {
        if topic != Topic::Import {
            return Err(ParseFailure::Malformed(format!(
                "sellerfeed does not post {}",
                topic.as_str()
            )));
        }
        let f: Feed = serde_json::from_slice(body)
            .map_err(|e| ParseFailure::Malformed(format!("not a sellerfeed payload: {e}")))?;
        let _ = f.feed_id;
        Ok(Parsed {
            store: Some(f.store_id),
            commands: f
                .rows
                .into_iter()
                .map(|r| SourceCommand::Item {
                    sku: r.sku,
                    name: r.name,
                    category: r.category,
                    price: match r.price {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    },
                    currency: r.currency,
                    unit: r.unit,
                    available: None,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_and_rows() {
        let body = br#"{"feed_id":"f-1","store_id":"s","rows":[{"sku":"A","name":"Tea","price":"1.50","currency":"SGD","unit":"box"}]}"#;
        let headers = vec![
            ("x-seller-account".to_string(), "brand-1".to_string()),
            ("x-api-key".to_string(), "key-123".to_string()),
        ];
        let d = Delivery {
            topic: Topic::Import,
            headers: &headers,
            body,
            remote_ip: None,
            url: "https://plugboard.test/hook",
        };
        assert_eq!(SellerFeed.verify(&d, b"key-123", 0), Ok(()));
        assert_eq!(
            SellerFeed.verify(&d, b"key-999", 0),
            Err(AuthFailure::SignatureMismatch)
        );
        assert_eq!(SellerFeed.idempotency_key(&d).as_deref(), Some("feed:f-1"));
        assert_eq!(
            SellerFeed
                .parse(Topic::Import, body)
                .unwrap()
                .commands
                .len(),
            1
        );
    }
}
