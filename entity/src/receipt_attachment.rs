//! What add-mode `receipt_qr` installs put on an order's receipt, fixed when
//! the order is paid.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "receipt_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    /// 1-based place on the receipt.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub install_id: Uuid,
    pub integration_slug: String,
    /// `qr` (content is the URL the QR encodes).
    pub kind: String,
    pub label: String,
    pub content: String,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
