//! A partner's webhook URL: which events it takes, in which signature
//! format, with its sealed secret (and the previous one during a rotation).
use sea_orm::entity::prelude::*;
use sea_orm::QueryOrder;

/// Values of `format`: how deliveries to the endpoint are signed.
pub mod format {
    /// Seed 004: `X-Cata-Signature: sha256=<hex>` and `X-Cata-*` headers.
    pub const CATA: &str = "cata";
    /// Seed 001: `X-Posz-Signature: sha256=<hex>`.
    pub const POSZ: &str = "posz";
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`,
    /// `webhook-signature: v1,<base64>` with a `whsec_` secret.
    pub const STANDARD: &str = "standard";
    /// Every format, for validation.
    pub const ALL: [&str; 3] = [CATA, POSZ, STANDARD];
}

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    /// `None`: every location of the merchant (the outlet's URL otherwise).
    pub location_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    /// Event types the endpoint takes (`order.paid`, …); `["*"]` for all.
    pub event_types: Json,
    pub format: String,
    /// Sealed with [`crate::crypto::KeyRing`].
    pub secret: String,
    /// The secret before the last rotation, still signed with until
    /// `previous_until`.
    pub previous_secret: Option<String>,
    pub previous_until: Option<TimeDateTimeWithTimeZone>,
    pub enabled: bool,
    /// Why the endpoint was disabled (shown to the merchant).
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed (`None` while healthy).
    pub failing_since: Option<TimeDateTimeWithTimeZone>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("merchant_id", &self.merchant_id)
            .field("url", &self.url)
            .field("format", &self.format)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether the endpoint takes `event_type`.
    pub fn takes(&self, event_type: &str) -> bool {
        self.event_types
            .as_array()
            .is_some_and(|types| types.iter().any(|t| t == "*" || t == event_type))
    }
}

impl Entity {
    /// The merchant's endpoints, oldest first.
    pub async fn list_for_merchant<C: ConnectionTrait>(
        db: &C,
        merchant_id: Uuid,
    ) -> Result<Vec<Model>, DbErr> {
        Self::find()
            .filter(Column::MerchantId.eq(merchant_id))
            .order_by_asc(Column::CreatedAt)
            .all(db)
            .await
    }

    /// One endpoint, only if it belongs to `merchant_id`.
    pub async fn find_for_merchant<C: ConnectionTrait>(
        db: &C,
        merchant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Model>, DbErr> {
        Self::find_by_id(id)
            .filter(Column::MerchantId.eq(merchant_id))
            .one(db)
            .await
    }
}
