//! An order dispatched through Plugboard, with its status (changed only by
//! the order status service) and what its dispatch came to.
use sea_orm::entity::prelude::*;

/// Values of `dispatch_status`.
pub mod dispatch_status {
    /// Not dispatched yet, or waiting for a retry.
    pub const PENDING: &str = "pending";
    pub const DISPATCHED: &str = "dispatched";
    pub const FAILED: &str = "failed";
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    /// Plugboard's order id (`orderId` in answers).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub location_id: Uuid,
    /// The caller's own id for the order (`order.id`), unique per merchant.
    pub reference: String,
    pub status: String,
    /// Raised by every status change (optimistic concurrency).
    pub version: i32,
    pub total_minor: i64,
    pub currency: String,
    /// The order as the caller sent it.
    pub payload: Json,
    /// The order's id at the receiver (`externalOrderId`).
    pub external_order_id: Option<String>,
    /// Who holds `external_order_id`: a POS provider or `webhook`.
    pub external_provider: Option<String>,
    pub dispatch_status: String,
    pub dispatch_reason: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// One order, only if it belongs to `merchant_id`.
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
