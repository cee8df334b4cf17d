//! The cashier and the live board in the browser: QRIS charges (created
//! with the same failover as the API), the charge screen with its QR, the
//! development simulator, and the board's orders per outlet.
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::outbound::Order;
use crate::model::payments::Payment;
use crate::model::LocationRef;

/// The cashier page: outlets, the outlet's newest payments, and whether
/// the simulator is on.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CashierOverview {
    pub locations: Vec<LocationRef>,
    pub payments: Vec<Payment>,
    pub simulator: bool,
}

/// One charge on the cashier screen, with its QR as an SVG image.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChargeScreen {
    pub payment: Payment,
    pub qr_svg: String,
    pub simulator: bool,
}

/// The board: the outlet's orders (newest first) and the outlets.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoardOverview {
    pub locations: Vec<LocationRef>,
    pub outlet: Option<LocationRef>,
    pub orders: Vec<Order>,
}

#[cfg(feature = "ssr")]
fn location_of(raw: Option<String>) -> Result<Option<uuid::Uuid>, AppError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => Ok(Some(super::parse_id(raw, "location")?)),
    }
}

/// `25000`, `25.000` or `25,000` → `25000`; anything with a decimal part
/// (`25000,50`) or not a number → `None`.
#[cfg(feature = "ssr")]
fn whole_rupiah(text: &str) -> Option<String> {
    let text = text.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(text) {
        return Some(text.to_string());
    }
    // Thousands separators only: groups of exactly three after the first.
    let groups: Vec<&str> = text.split(['.', ',']).collect();
    let grouped = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups.iter().all(|g| digits(g))
        && groups[1..].iter().all(|g| g.len() == 3);
    grouped.then(|| groups.concat())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::whole_rupiah;

    #[test]
    fn rupiah_amounts_take_thousands_separators_but_no_decimals() {
        assert_eq!(whole_rupiah("25000").as_deref(), Some("25000"));
        assert_eq!(whole_rupiah("25.000").as_deref(), Some("25000"));
        assert_eq!(whole_rupiah("1,250,000").as_deref(), Some("1250000"));
        assert_eq!(whole_rupiah("25000,50"), None);
        assert_eq!(whole_rupiah("25000.50"), None);
        assert_eq!(whole_rupiah("12.5"), None);
        assert_eq!(whole_rupiah(""), None);
        assert_eq!(whole_rupiah("abc"), None);
    }
}

#[server(endpoint = "load_cashier")]
pub async fn load_cashier(location: Option<String>) -> Result<CashierOverview, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let location = location_of(location)?;
            Ok(CashierOverview {
                locations: crate::domain::locations::refs(&state.db, merchant).await?,
                payments: crate::domain::payments::charge::list(&state.db, merchant, location, 20)
                    .await?,
                simulator: state.payments.simulator,
            })
        }
        .await,
    )
}

/// Creates a QRIS charge for a new order of `amount` rupiah at the outlet.
#[server(endpoint = "create_charge")]
pub async fn create_charge(
    outlet_id: String,
    amount: String,
    description: String,
) -> Result<Payment, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let outlet_id = outlet_id
                .trim()
                .parse()
                .map_err(|_| AppError::field("outlet_id", "Choose an outlet."))?;
            let amount = whole_rupiah(&amount).ok_or_else(|| {
                AppError::field(
                    "amount",
                    "Enter the amount in whole rupiah, e.g. 25000 or 25.000.",
                )
            })?;
            let name = match description.trim() {
                "" => "Order".to_string(),
                d => d.chars().take(100).collect(),
            };
            // The random tail of a v7 id: short enough to read out, unique
            // enough per merchant.
            let id = uuid::Uuid::now_v7().simple().to_string();
            let reference = format!("POS-{}", &id[20..]);
            let req = crate::model::payments::PaymentRequest {
                outlet_id,
                order_id: None,
                order: Some(serde_json::json!({
                    "id": reference,
                    "currency": "IDR",
                    "total": amount,
                    "items": [{"name": name, "quantity": 1, "price": amount}],
                })),
                expiry_minutes: None,
            };
            let charged = crate::domain::payments::charge::create(
                &state.db,
                &state.keys.current(),
                &state.payments,
                merchant,
                &req,
                None,
            )
            .await?;
            Ok(charged.payment)
        }
        .await,
    )
}

#[server(endpoint = "load_charge")]
pub async fn load_charge(id: String) -> Result<ChargeScreen, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "payment")?;
            let payment = crate::domain::payments::charge::get(&state.db, merchant, id).await?;
            Ok(ChargeScreen {
                qr_svg: crate::domain::payments::qr_svg(&payment.qr_string),
                payment,
                simulator: state.payments.simulator,
            })
        }
        .await,
    )
}

/// Development only: the provider fake pays the charge.
#[server(endpoint = "simulate_payment")]
pub async fn simulate_payment(id: String) -> Result<u16, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let id = super::parse_id(&id, "payment")?;
            crate::domain::payments::simulate(&state.db, &state.payments, merchant, id).await
        }
        .await,
    )
}

#[server(endpoint = "load_board")]
pub async fn load_board(location: Option<String>) -> Result<BoardOverview, AppError> {
    super::finish(
        async move {
            let (state, _, merchant) = crate::session::merchant_context().await?;
            let locations = crate::domain::locations::refs(&state.db, merchant).await?;
            let chosen = location_of(location)?;
            let outlet = match chosen {
                Some(id) => Some(
                    locations
                        .iter()
                        .find(|l| l.id == id)
                        .cloned()
                        .ok_or_else(|| AppError::NotFound("No such location.".into()))?,
                ),
                None => locations.first().cloned(),
            };
            let orders = match &outlet {
                Some(l) => crate::domain::orders::list(&state.db, merchant, Some(l.id), 50).await?,
                None => Vec::new(),
            };
            Ok(BoardOverview {
                locations,
                outlet,
                orders,
            })
        }
        .await,
    )
}
