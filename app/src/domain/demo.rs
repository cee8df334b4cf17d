//! Demo data for a first start, so a newcomer can click through at once.
use entity::merchant;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, TransactionTrait};

use super::{accounts, locations};
use crate::error::AppResult;
use crate::model::LocationInput;

/// The demo merchant's sign-in.
pub const DEMO_EMAIL: &str = "demo@plugboard.local";
/// The demo merchant's password (the embedded default only; documented).
pub const DEMO_PASSWORD: &str = "plugboard-demo";

/// Creates the demo merchant with its Jakarta and Bali locations when the
/// database has no merchant yet. Answers whether it did.
pub async fn seed_if_empty<C: ConnectionTrait + TransactionTrait>(db: &C) -> AppResult<bool> {
    if merchant::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let owner = accounts::sign_up(
        db,
        accounts::SignUp {
            merchant_name: "Warung Demo".into(),
            email: DEMO_EMAIL.into(),
            password: DEMO_PASSWORD.into(),
        },
    )
    .await?;
    let Some(merchant_id) = owner.merchant_id else {
        return Ok(false);
    };
    for (name, city, tz) in [
        ("Jakarta — Senopati", "Jakarta", "Asia/Jakarta"),
        ("Bali — Canggu", "Badung", "Asia/Makassar"),
    ] {
        locations::create(
            db,
            merchant_id,
            LocationInput {
                name: name.into(),
                city: city.into(),
                timezone: tz.into(),
                external_ids: None,
            },
        )
        .await?;
    }
    Ok(true)
}
