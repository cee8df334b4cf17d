//! Provider notifications. The gateway route finds the payment a
//! notification names, verifies it with the secret of the install that
//! created the charge, and stores it like every inbound delivery (raw
//! body, dedupe, failures for support). The processor then reads it and
//! settles the payment: a paid notice marks the payment paid and moves its
//! order to PAID through the one order status service. Repeats and
//! out-of-order notices change nothing (paid is final; a late `pending`
//! or `expire` after `settlement` is recorded and ignored).
use entity::crypto::KeyRing;
use entity::{order, payment};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::factory;
use super::{charge, find, Notice, NoticeOutcome, PaymentProvider};
use crate::domain::inbound::verify::AuthFailure;
use crate::domain::orders::{state_machine, status};
use crate::error::{AppError, AppResult};

/// A notification that verified.
pub struct Verified {
    pub provider: &'static dyn PaymentProvider,
    pub payment: payment::Model,
    /// The dedupe key of the notification.
    pub idempotency_key: String,
}

/// Why a notification was not accepted.
pub enum Refusal {
    /// No payment provider of that name.
    UnknownProvider,
    /// Authentication failed (counted for support; answered 401).
    Auth(AuthFailure),
    /// The database could not be read: the provider should retry (503).
    Unavailable,
}

impl From<AuthFailure> for Refusal {
    fn from(a: AuthFailure) -> Self {
        Refusal::Auth(a)
    }
}

/// Finds the payment a notification is about and verifies it with the
/// secrets of the install that created the charge.
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    provider_name: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Verified, Refusal> {
    let provider = find(provider_name).ok_or(Refusal::UnknownProvider)?;
    let reference = provider
        .notification_reference(body)
        .and_then(|r| r.parse::<Uuid>().ok())
        .ok_or(AuthFailure::UnknownAccount)?;
    let payment = payment::Entity::find_by_id(reference)
        .one(db)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "payment lookup failed");
            Refusal::Unavailable
        })?
        .filter(|p| p.provider == provider.name())
        .ok_or(AuthFailure::UnknownAccount)?;
    let gateway = factory::for_install(db, keys, payment.install_id)
        .await
        .map_err(|_| Refusal::Unavailable)?
        .ok_or(AuthFailure::UnknownAccount)?;
    provider.verify_notification(headers, body, &gateway.settings)?;
    let key = provider
        .notification_key(headers, body)
        .unwrap_or_else(|| format!("{}:{}", provider.name(), hex::encode(sha256(body))));
    Ok(Verified {
        provider,
        payment,
        idempotency_key: key,
    })
}

fn sha256(body: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(body).to_vec()
}

/// Why a stored notification could not be applied (the processor's
/// failure classes).
#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    /// The notification names no payment Plugboard has.
    Mapping(String),
    /// The notification is not the provider's shape, or its amount is not
    /// the payment's.
    Validation(String),
}

/// A notification read and checked against its payment, ready to apply.
#[derive(Debug)]
pub struct Settlement {
    pub payment_id: Uuid,
    pub notice: Notice,
}

/// Reads a stored notification (processor, before the write transaction).
pub async fn read<C: ConnectionTrait>(
    db: &C,
    provider_name: &str,
    body: &[u8],
) -> Result<Settlement, Problem> {
    let provider = find(provider_name)
        .ok_or_else(|| Problem::Mapping(format!("no payment provider {provider_name:?}")))?;
    let notice = provider
        .read_notification(body)
        .map_err(Problem::Validation)?;
    let id: Uuid = notice.reference.parse().map_err(|_| {
        Problem::Mapping(format!("{:?} is not a Plugboard payment", notice.reference))
    })?;
    let p = payment::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| Problem::Mapping(e.to_string()))?
        .ok_or_else(|| Problem::Mapping(format!("no payment {id}")))?;
    if let Some(amount) = &notice.gross_amount {
        if !same_amount(amount, &p.gross_amount) {
            return Err(Problem::Validation(format!(
                "the notification's amount {amount} is not the charge's {}",
                p.gross_amount
            )));
        }
    }
    Ok(Settlement {
        payment_id: id,
        notice,
    })
}

/// `"25000.00"` and `"25000"` are the same amount.
fn same_amount(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        match s.split_once('.') {
            Some((whole, frac)) if frac.bytes().all(|c| c == b'0') => whole.to_string(),
            _ => s.to_string(),
        }
    };
    norm(a) == norm(b)
}

/// Applies a settlement in the processor's transaction: the payment's
/// status, its event, and for a paid notice the order's move to PAID.
pub async fn apply<C: ConnectionTrait>(db: &C, s: &Settlement) -> AppResult<()> {
    let Some(p) = payment::Entity::find_by_id(s.payment_id).one(db).await? else {
        return Ok(());
    };
    let to = match s.notice.outcome {
        NoticeOutcome::Paid => payment::status::PAID,
        NoticeOutcome::Expired => payment::status::EXPIRED,
        NoticeOutcome::Failed => payment::status::FAILED,
        NoticeOutcome::Pending => return Ok(()),
    };
    // Paid is final; expired or failed may still turn paid (a late
    // settlement is money received).
    if p.status == to || p.status == payment::status::PAID {
        return Ok(());
    }
    let now = entity::now();
    let mut update = payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(to))
        .col_expr(payment::Column::UpdatedAt, Expr::value(now));
    if to == payment::status::PAID {
        update = update.col_expr(payment::Column::PaidAt, Expr::value(Some(now)));
        if !s.notice.transaction_id.is_empty() {
            update = update.col_expr(
                payment::Column::ProviderTransactionId,
                Expr::value(s.notice.transaction_id.clone()),
            );
        }
    }
    let res = update
        .filter(payment::Column::Id.eq(p.id))
        .filter(payment::Column::Status.eq(p.status.clone()))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::StaleVersion(
            "the payment changed meanwhile".into(),
        ));
    }
    let p = payment::Entity::find_by_id(p.id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    let order = order::Entity::find_by_id(p.order_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    charge::publish(db, &p, &order, &format!("payment.{to}")).await?;
    if to == payment::status::PAID {
        if order.status == state_machine::PENDING {
            status::apply(
                db,
                &order,
                state_machine::PAID,
                &format!("payment:{}", p.provider),
                status::Announce::Endpoints,
            )
            .await?;
        } else {
            // Money arrived for an order that is paid or cancelled already
            // (a second QR, a late settlement): the payment stays paid and
            // announced (payment.paid) for a refund; the order is not moved.
            tracing::warn!(order = %order.id, status = %order.status, payment = %p.id, "payment settled for an order that is no longer pending; refund it");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::same_amount;

    #[test]
    fn amounts_compare_without_trailing_zero_decimals() {
        assert!(same_amount("25000.00", "25000"));
        assert!(same_amount("25000", "25000"));
        assert!(!same_amount("25000.50", "25000"));
        assert!(!same_amount("2500", "25000"));
    }
}
