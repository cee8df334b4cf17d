//! One QRIS charge a payment provider created for an order: who served it
//! (after any failover), the QR string and expiry, and what became of it.
use sea_orm::entity::prelude::*;

/// Values of `status`.
pub mod status {
    /// The QR is shown; the customer has not paid yet.
    pub const PENDING: &str = "pending";
    pub const PAID: &str = "paid";
    /// The QR expired unpaid.
    pub const EXPIRED: &str = "expired";
    /// The provider reports the charge failed or was cancelled.
    pub const FAILED: &str = "failed";
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    /// Plugboard's payment id; also the reference the provider knows the
    /// charge by (Midtrans `order_id`, Xendit `reference_id`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub location_id: Uuid,
    pub order_id: Uuid,
    /// The provider that created the charge (`midtrans`, `xendit`).
    pub provider: String,
    /// The install whose credentials created it (and verify its callbacks).
    pub install_id: Uuid,
    pub provider_transaction_id: String,
    pub qr_string: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The amount exactly as sent to the provider (`"25000"`).
    pub gross_amount: String,
    pub status: String,
    pub expires_at: TimeDateTimeWithTimeZone,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the create request, to tell a retry from a misuse of
    /// the same idempotency key.
    pub request_hash: String,
    /// Providers tried before the one that served: `[{provider, error,
    /// latencyMs}]`.
    pub failover: Json,
    pub paid_at: Option<TimeDateTimeWithTimeZone>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// One payment, only if it belongs to `merchant_id`.
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
