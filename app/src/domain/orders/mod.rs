//! Orders: dispatch to partners and POS (seed 004), the one status service
//! and its state machine (seed 002), receipts, and the views merchants see.
use entity::{delivery, order, order_status_history};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::domain::outbound::deliveries;
use crate::domain::rfc3339;
use crate::error::{AppError, AppResult};
use crate::model::outbound::{Order, OrderDetail, StatusChange};

pub mod dispatch;
pub mod pos_status;
pub mod receipt;
pub mod refunds;
pub mod state_machine;
pub mod status;

/// The wire view of an order.
pub fn view(o: &order::Model) -> Order {
    Order {
        id: o.id,
        outlet_id: o.location_id,
        reference: o.reference.clone(),
        status: o.status.clone(),
        version: o.version,
        total_minor: o.total_minor,
        total: crate::domain::inbound::canonical::format_minor(o.total_minor, &o.currency),
        currency: o.currency.clone(),
        external_order_id: o.external_order_id.clone(),
        external_provider: o.external_provider.clone(),
        dispatch_status: o.dispatch_status.clone(),
        dispatch_reason: o.dispatch_reason.clone(),
        created_at: rfc3339(o.created_at),
        updated_at: rfc3339(o.updated_at),
    }
}

/// The newest orders of the merchant, at one location or all.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    location_id: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<Order>> {
    let mut q = order::Entity::find()
        .filter(order::Column::MerchantId.eq(merchant_id))
        .order_by_desc(order::Column::CreatedAt)
        .limit(limit);
    if let Some(l) = location_id {
        q = q.filter(order::Column::LocationId.eq(l));
    }
    Ok(q.all(db).await?.iter().map(view).collect())
}

/// One order with its history, dispatch deliveries and receipt.
pub async fn detail<C: ConnectionTrait>(
    db: &C,
    merchant_id: Uuid,
    id: Uuid,
) -> AppResult<OrderDetail> {
    let o = order::Entity::find_for_merchant(db, merchant_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such order.".into()))?;
    let history = order_status_history::Entity::find()
        .filter(order_status_history::Column::OrderId.eq(id))
        .order_by_asc(order_status_history::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|h| StatusChange {
            from: h.from_status,
            to: h.to_status,
            version: h.version,
            source: h.source,
            at: rfc3339(h.at),
        })
        .collect();
    let mut out = Vec::new();
    for d in delivery::Entity::find()
        .filter(delivery::Column::OrderId.eq(id))
        .order_by_asc(delivery::Column::Id)
        .all(db)
        .await?
    {
        out.push(deliveries::detail_of(db, d).await?);
    }
    Ok(OrderDetail {
        order: view(&o),
        payload: o.payload,
        history,
        deliveries: out,
        receipt: receipt::receipt(db, merchant_id, id).await?,
        refunds: refunds::list(db, id).await?,
    })
}
