//! An order's receipt attachments (`receipt_qr`), fixed once when the
//! order is paid.
use entity::{install, receipt_attachment};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::model::outbound::{Receipt, ReceiptAttachment};

/// Stores the attachments in order (install, kind, label, content); an
/// order that already has attachments keeps them (a replayed event adds
/// nothing).
pub async fn attach<C: ConnectionTrait>(
    db: &C,
    order: &entity::order::Model,
    attachments: Vec<(install::Model, String, String, String)>,
) -> AppResult<()> {
    let existing = receipt_attachment::Entity::find()
        .filter(receipt_attachment::Column::OrderId.eq(order.id))
        .one(db)
        .await?;
    if existing.is_some() {
        return Ok(());
    }
    let now = entity::now();
    for (i, (install, kind, label, content)) in attachments.into_iter().enumerate() {
        receipt_attachment::ActiveModel {
            order_id: Set(order.id),
            position: Set(i as i32 + 1),
            install_id: Set(install.id),
            integration_slug: Set(install.integration_slug),
            kind: Set(kind),
            label: Set(label),
            content: Set(content),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The receipt attachments of one of the merchant's orders.
pub async fn receipt<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    order_id: Uuid,
) -> AppResult<Receipt> {
    entity::order::Entity::find_for_merchant(db, merchant_id, order_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such order.".into()))?;
    let attachments = receipt_attachment::Entity::find()
        .filter(receipt_attachment::Column::OrderId.eq(order_id))
        .order_by_asc(receipt_attachment::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|a| ReceiptAttachment {
            position: a.position,
            integration: a.integration_slug,
            kind: a.kind,
            label: a.label,
            content: a.content,
        })
        .collect();
    Ok(Receipt {
        order_id,
        attachments,
    })
}
