//! JS transformer scripts (every deployed version of every (provider,
//! topic) script, at most one of them active) and the per-install secrets
//! partners sign `POST /v1/integrations/{slug}/webhook` with.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AdapterScripts {
    Table,
    Id,
    Provider,
    Topic,
    Version,
    Checksum,
    Source,
    Active,
    DeployedBy,
    CreatedAt,
    ActivatedAt,
}

#[derive(DeriveIden)]
enum Installs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum InstallWebhookSecrets {
    Table,
    InstallId,
    Secret,
    Previous,
    PreviousUntil,
    RotatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AdapterScripts::Table)
                .col(uuid(AdapterScripts::Id).primary_key())
                .col(string(AdapterScripts::Provider))
                .col(string(AdapterScripts::Topic))
                .col(string(AdapterScripts::Version))
                .col(string(AdapterScripts::Checksum))
                .col(text(AdapterScripts::Source))
                .col(boolean(AdapterScripts::Active))
                .col(string(AdapterScripts::DeployedBy))
                .col(timestamp_with_time_zone(AdapterScripts::CreatedAt))
                .col(timestamp_with_time_zone_null(AdapterScripts::ActivatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_adapter_scripts_version")
                .table(AdapterScripts::Table)
                .col(AdapterScripts::Provider)
                .col(AdapterScripts::Topic)
                .col(AdapterScripts::Version)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(InstallWebhookSecrets::Table)
                .col(uuid(InstallWebhookSecrets::InstallId).primary_key())
                .col(text(InstallWebhookSecrets::Secret))
                .col(text_null(InstallWebhookSecrets::Previous))
                .col(timestamp_with_time_zone_null(
                    InstallWebhookSecrets::PreviousUntil,
                ))
                .col(timestamp_with_time_zone(InstallWebhookSecrets::RotatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            InstallWebhookSecrets::Table,
                            InstallWebhookSecrets::InstallId,
                        )
                        .to(Installs::Table, Installs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(InstallWebhookSecrets::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(AdapterScripts::Table).to_owned())
            .await
    }
}
