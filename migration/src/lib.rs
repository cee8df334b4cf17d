//! Database migrations, applied at start-up and by `plugboard migrate`.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_installs;
mod m20261122_000003_platform_secrets;
mod m20261122_000004_oauth;
mod m20261122_000005_inbound;
mod m20261122_000006_scripts_partner_webhooks;
mod m20261122_000007_variants;
mod m20261202_000008_outbound_orders;
mod m20261202_000009_payments;
mod m20261202_000010_import_progress;
mod m20261207_000011_inbound_order;

/// The ordered list of Plugboard migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_installs::Migration),
            Box::new(m20261122_000003_platform_secrets::Migration),
            Box::new(m20261122_000004_oauth::Migration),
            Box::new(m20261122_000005_inbound::Migration),
            Box::new(m20261122_000006_scripts_partner_webhooks::Migration),
            Box::new(m20261122_000007_variants::Migration),
            Box::new(m20261202_000008_outbound_orders::Migration),
            Box::new(m20261202_000009_payments::Migration),
            Box::new(m20261202_000010_import_progress::Migration),
            Box::new(m20261207_000011_inbound_order::Migration),
        ]
    }
}
