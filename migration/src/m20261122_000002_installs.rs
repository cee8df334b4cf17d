//! Installs, the slots that enforce mode conflicts and caps, and the audit log.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
    SlotVersion,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Slug,
}

#[derive(DeriveIden)]
enum Installs {
    Table,
    Id,
    MerchantId,
    IntegrationSlug,
    LocationId,
    Scope,
    Enabled,
    Config,
    Secrets,
    AuthStatus,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

/// `location_id` has no foreign key: the nil id stands for "every location".
#[derive(DeriveIden)]
enum InstallSlots {
    Table,
    MerchantId,
    LocationId,
    Surface,
    Slot,
    InstallId,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    MerchantId,
    Actor,
    Action,
    Target,
    Before,
    After,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Bumped by every change of a merchant's installs, which serialises
        // them per merchant (row lock on PostgreSQL, write lock on SQLite).
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .add_column(integer(Merchants::SlotVersion).default(0))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Installs::Table)
                    .col(uuid(Installs::Id).primary_key())
                    .col(uuid(Installs::MerchantId))
                    .col(string(Installs::IntegrationSlug))
                    .col(uuid_null(Installs::LocationId))
                    .col(string(Installs::Scope))
                    .col(boolean(Installs::Enabled))
                    .col(json(Installs::Config))
                    .col(text_null(Installs::Secrets))
                    .col(string(Installs::AuthStatus))
                    .col(uuid_null(Installs::CreatedBy))
                    .col(timestamp_with_time_zone(Installs::CreatedAt))
                    .col(timestamp_with_time_zone(Installs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_installs_merchant")
                            .from(Installs::Table, Installs::MerchantId)
                            .to(Merchants::Table, Merchants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_installs_integration")
                            .from(Installs::Table, Installs::IntegrationSlug)
                            .to(Integrations::Table, Integrations::Slug),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_installs_location")
                            .from(Installs::Table, Installs::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_installs_merchant_integration_scope")
                    .table(Installs::Table)
                    .col(Installs::MerchantId)
                    .col(Installs::IntegrationSlug)
                    .col(Installs::Scope)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InstallSlots::Table)
                    .col(uuid(InstallSlots::MerchantId))
                    .col(uuid(InstallSlots::LocationId))
                    .col(string(InstallSlots::Surface))
                    .col(integer(InstallSlots::Slot))
                    .col(uuid(InstallSlots::InstallId))
                    .primary_key(
                        Index::create()
                            .col(InstallSlots::MerchantId)
                            .col(InstallSlots::LocationId)
                            .col(InstallSlots::Surface)
                            .col(InstallSlots::Slot),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_install_slots_install")
                            .from(InstallSlots::Table, InstallSlots::InstallId)
                            .to(Installs::Table, Installs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_install_slots_install")
                    .table(InstallSlots::Table)
                    .col(InstallSlots::InstallId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_integer(AuditLog::Id).auto_increment().primary_key())
                    .col(uuid_null(AuditLog::MerchantId))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Target))
                    .col(json_null(AuditLog::Before))
                    .col(json_null(AuditLog::After))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_merchant_time")
                    .table(AuditLog::Table)
                    .col(AuditLog::MerchantId)
                    .col(AuditLog::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            InstallSlots::Table.into_iden(),
            Installs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .drop_column(Merchants::SlotVersion)
                    .to_owned(),
            )
            .await
    }
}
