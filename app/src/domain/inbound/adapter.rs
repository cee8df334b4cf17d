//! The one trait every provider adapter implements, and what flows through
//! it. Adding a provider is one module implementing [`ProviderAdapter`] plus
//! one line in [`super::registry`].
use std::net::IpAddr;

use serde::Deserialize;

use super::verify::AuthFailure;

/// The route family a provider posts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Restaurant POS: `/v1/integrations/pos/{provider}/webhooks/…`.
    Pos,
    /// Warehouse ERP / WMS: `/v1/integrations/erp/{provider}/webhooks/stock`.
    Erp,
    /// Seller / brand feeds: `/v1/integrations/seller/{provider}/import`.
    Seller,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Pos => "pos",
            Family::Erp => "erp",
            Family::Seller => "seller",
        }
    }
}

/// What a delivery is about (the last path segment of its route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    Menu,
    Inventory,
    StoreStatus,
    Stock,
    Import,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Menu => "menu",
            Topic::Inventory => "inventory",
            Topic::StoreStatus => "store-status",
            Topic::Stock => "stock",
            Topic::Import => "import",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Topic::Menu,
            Topic::Inventory,
            Topic::StoreStatus,
            Topic::Stock,
            Topic::Import,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// One inbound HTTP delivery, as received.
pub struct Delivery<'a> {
    pub topic: Topic,
    /// Header names lower-cased.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub remote_ip: Option<IpAddr>,
    /// The public URL the provider posted to (some providers sign it).
    pub url: &'a str,
}

impl Delivery<'_> {
    /// The sender's account from header `name`: trimmed, not empty, else
    /// [`AuthFailure::UnknownAccount`].
    pub fn account_header(&self, name: &str) -> Result<String, AuthFailure> {
        self.header(name)
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .ok_or(AuthFailure::UnknownAccount)
    }

    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A provider's update before identity mapping: provider store and SKU ids,
/// amounts as the provider wrote them. Also the output contract of inbound
/// JS transformers (`{"type": "item", ...}`; amounts as strings or numbers).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceCommand {
    /// A menu or catalog item with its price.
    Item {
        sku: String,
        name: String,
        category: Option<String>,
        #[serde(deserialize_with = "amount")]
        price: String,
        currency: String,
        unit: Option<String>,
        available: Option<bool>,
    },
    /// A variant of item `sku` (a size, a flavour) with its own price.
    Variant {
        sku: String,
        /// The provider's id of the variant.
        variant: String,
        name: String,
        #[serde(deserialize_with = "amount")]
        price: String,
        currency: String,
        #[serde(default)]
        available: Option<bool>,
    },
    /// An item sold out or back.
    Availability { sku: String, available: bool },
    /// Stock moved by `delta` (may be negative).
    StockDelta {
        sku: String,
        #[serde(deserialize_with = "amount")]
        delta: String,
        unit: Option<String>,
    },
    /// Stock counted at `level`.
    StockLevel {
        sku: String,
        #[serde(deserialize_with = "amount")]
        level: String,
        unit: Option<String>,
    },
    /// The store opened or closed.
    StoreStatus { open: bool, reason: Option<String> },
    /// A new price for an item.
    Price {
        sku: String,
        #[serde(deserialize_with = "amount")]
        price: String,
        currency: String,
    },
}

/// An amount as a string, or a JSON number written out.
fn amount<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an amount (string or number), got {other}"
        ))),
    }
}

/// A parsed delivery.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parsed {
    /// The provider's store id, when the delivery names one.
    #[serde(default)]
    pub store: Option<String>,
    pub commands: Vec<SourceCommand>,
}

/// Why a delivery could not be turned into commands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseFailure {
    /// Not the provider's documented shape.
    #[error("{0}")]
    Malformed(String),
}

/// One provider.
pub trait ProviderAdapter: Send + Sync {
    /// The `{provider}` of the route, e.g. `restopos`.
    fn name(&self) -> &'static str;
    fn family(&self) -> Family;
    /// The topics it posts.
    fn topics(&self) -> &'static [Topic];
    /// Which provider account sent the delivery (to find its connection).
    fn account(&self, delivery: &Delivery) -> Result<String, AuthFailure>;
    /// Checks the delivery's signature with the connection's secret.
    fn verify(&self, delivery: &Delivery, secret: &[u8], now_unix: i64) -> Result<(), AuthFailure>;
    /// The provider's event id or entity version, when it sends one; the
    /// pipeline falls back to a hash of the delivery.
    fn idempotency_key(&self, delivery: &Delivery) -> Option<String>;
    /// Whether its bodies are turned into commands by the active JS
    /// transformer of (provider, topic) instead of [`Self::parse`].
    fn scripted(&self) -> bool {
        false
    }
    /// Parses the body into source commands (adapters that are not
    /// [`Self::scripted`]).
    fn parse(&self, topic: Topic, body: &[u8]) -> Result<Parsed, ParseFailure> {
        let _ = body;
        Err(ParseFailure::Malformed(format!(
            "{} {} deliveries are transformed by a script",
            self.name(),
            topic.as_str()
        )))
    }
}
