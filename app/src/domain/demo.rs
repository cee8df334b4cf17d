//! Demo data for a first start, so a newcomer can click through at once.
use entity::merchant;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, TransactionTrait};

use entity::crypto::KeyRing;

use super::audit::Actor;
use super::inbound::connections;
use super::{accounts, locations};
use crate::error::AppResult;
use crate::model::{LocationInput, ProviderConnectionInput, Role, StoreMapping};

/// The demo merchant's sign-in.
pub const DEMO_EMAIL: &str = "demo@plugboard.local";
/// The demo merchant's password (the embedded default only; documented).
pub const DEMO_PASSWORD: &str = "plugboard-demo";

/// The demo support agent's sign-in (the embedded default only; documented).
pub const SUPPORT_EMAIL: &str = "support@plugboard.local";
pub const SUPPORT_PASSWORD: &str = "plugboard-support";
/// The demo merchant's restaurant POS account and the store id its
/// webhooks name (mapped to Jakarta).
pub const DEMO_POS_ACCOUNT: &str = "demo-restopos";
pub const DEMO_POS_STORE: &str = "senopati-1";

/// The demo merchant's payment provider credentials, which the
/// development configuration's provider fakes (`/_fakes/…`) accept.
pub const DEMO_MIDTRANS_SERVER_KEY: &str = "SB-Mid-server-plugboard-demo";
pub const DEMO_XENDIT_SECRET_KEY: &str = "xnd_development_plugboard_demo";
pub const DEMO_XENDIT_CALLBACK_TOKEN: &str = "plugboard-demo-callback-token";

/// What the demo data created that is shown only once.
pub struct Seeded {
    /// The signing secret of the demo restopos connection.
    pub restopos_secret: String,
}

/// Creates the demo merchant with its Jakarta and Bali locations, a
/// restaurant POS connection with Jakarta's store mapped, and a support
/// agent, when the database has no merchant yet. Answers the one-time
/// secrets if it did.
pub async fn seed_if_empty<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &KeyRing,
) -> AppResult<Option<Seeded>> {
    if merchant::Entity::find().count(db).await? > 0 {
        return Ok(None);
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
        return Ok(None);
    };
    let mut jakarta = None;
    for (name, city, tz) in [
        ("Jakarta — Senopati", "Jakarta", "Asia/Jakarta"),
        ("Bali — Canggu", "Badung", "Asia/Makassar"),
    ] {
        let created = locations::create(
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
        jakarta.get_or_insert(created.id);
    }
    let connection = connections::create(
        db,
        keys,
        Actor::System,
        merchant_id,
        ProviderConnectionInput {
            provider: "restopos".into(),
            account_id: DEMO_POS_ACCOUNT.into(),
            allow_new_items: true,
            ip_allowlist: Vec::new(),
        },
    )
    .await?;
    if let Some(location_id) = jakarta {
        // QRIS at the cashier: Midtrans first, Xendit as the backup.
        for (integration, config) in [
            (
                "midtrans",
                serde_json::json!({"server_key": DEMO_MIDTRANS_SERVER_KEY, "environment": "sandbox"}),
            ),
            (
                "xendit",
                serde_json::json!({"secret_key": DEMO_XENDIT_SECRET_KEY,
                    "callback_token": DEMO_XENDIT_CALLBACK_TOKEN}),
            ),
        ] {
            super::installs::install(
                db,
                keys,
                Actor::System,
                merchant_id,
                crate::model::InstallInput {
                    integration: integration.into(),
                    location_id: Some(location_id),
                    config,
                },
            )
            .await?;
        }
        connections::map_store(
            db,
            Actor::System,
            merchant_id,
            StoreMapping {
                provider: "restopos".into(),
                provider_store_id: DEMO_POS_STORE.into(),
                location_id,
            },
        )
        .await?;
    }
    accounts::create_user(
        db,
        SUPPORT_EMAIL,
        SUPPORT_PASSWORD.into(),
        Role::Support,
        None,
    )
    .await?;
    Ok(Some(Seeded {
        restopos_secret: connection.secret,
    }))
}
