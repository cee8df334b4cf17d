//! Platform-level shared secrets of `platform_shared` integrations.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PlatformSecrets {
    Table,
    Id,
    IntegrationSlug,
    KeyId,
    Secret,
    CreatedAt,
    RetiresAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Slug,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlatformSecrets::Table)
                    .col(uuid(PlatformSecrets::Id).primary_key())
                    .col(string(PlatformSecrets::IntegrationSlug))
                    .col(string(PlatformSecrets::KeyId))
                    .col(text(PlatformSecrets::Secret))
                    .col(timestamp_with_time_zone(PlatformSecrets::CreatedAt))
                    .col(timestamp_with_time_zone_null(PlatformSecrets::RetiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_platform_secrets_integration")
                            .from(PlatformSecrets::Table, PlatformSecrets::IntegrationSlug)
                            .to(Integrations::Table, Integrations::Slug),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_platform_secrets_integration_key")
                    .table(PlatformSecrets::Table)
                    .col(PlatformSecrets::IntegrationSlug)
                    .col(PlatformSecrets::KeyId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlatformSecrets::Table).to_owned())
            .await
    }
}
