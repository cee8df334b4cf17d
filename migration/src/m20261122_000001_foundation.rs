//! Accounts, locations, API tokens and the integrations catalog.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    MerchantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    MerchantId,
    Name,
    City,
    Timezone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LocationExternalIds {
    Table,
    LocationId,
    Provider,
    ExternalId,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    MerchantId,
    CreatedBy,
    Name,
    Prefix,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Id,
    Email,
    Ip,
    AttemptedAt,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Slug,
    Name,
    Description,
    Position,
}

#[derive(DeriveIden)]
enum Capabilities {
    Table,
    Slug,
    Surface,
    Mode,
    Cap,
    Status,
    CapabilityVersion,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Slug,
    Name,
    CategorySlug,
    AuthShape,
    ConfigSchema,
    Summary,
    Description,
    PartnerUrl,
    Status,
    CatalogVersion,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IntegrationCapabilities {
    Table,
    IntegrationSlug,
    CapabilitySlug,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Merchants::Table)
                    .col(uuid(Merchants::Id).primary_key())
                    .col(string(Merchants::Name))
                    .col(timestamp_with_time_zone(Merchants::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(string(Users::Email).unique_key())
                    .col(string(Users::PasswordHash))
                    .col(string(Users::Role))
                    .col(uuid_null(Users::MerchantId))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_merchant")
                            .from(Users::Table, Users::MerchantId)
                            .to(Merchants::Table, Merchants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Locations::Table)
                    .col(uuid(Locations::Id).primary_key())
                    .col(uuid(Locations::MerchantId))
                    .col(string(Locations::Name))
                    .col(string(Locations::City))
                    .col(string(Locations::Timezone))
                    .col(timestamp_with_time_zone(Locations::CreatedAt))
                    .col(timestamp_with_time_zone(Locations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_locations_merchant")
                            .from(Locations::Table, Locations::MerchantId)
                            .to(Merchants::Table, Merchants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_locations_merchant_name")
                    .table(Locations::Table)
                    .col(Locations::MerchantId)
                    .col(Locations::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LocationExternalIds::Table)
                    .col(uuid(LocationExternalIds::LocationId))
                    .col(string(LocationExternalIds::Provider))
                    .col(string(LocationExternalIds::ExternalId))
                    .primary_key(
                        Index::create()
                            .col(LocationExternalIds::LocationId)
                            .col(LocationExternalIds::Provider),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_location_external_ids_location")
                            .from(LocationExternalIds::Table, LocationExternalIds::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_location_external_ids_provider_external")
                    .table(LocationExternalIds::Table)
                    .col(LocationExternalIds::Provider)
                    .col(LocationExternalIds::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(uuid(ApiTokens::Id).primary_key())
                    .col(uuid(ApiTokens::MerchantId))
                    .col(uuid_null(ApiTokens::CreatedBy))
                    .col(string(ApiTokens::Name))
                    .col(string(ApiTokens::Prefix))
                    .col(string(ApiTokens::TokenHash).unique_key())
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_merchant")
                            .from(ApiTokens::Table, ApiTokens::MerchantId)
                            .to(Merchants::Table, Merchants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(
                        big_integer(LoginAttempts::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(string(LoginAttempts::Email))
                    .col(string_null(LoginAttempts::Ip))
                    .col(timestamp_with_time_zone(LoginAttempts::AttemptedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_login_attempts_email_time")
                    .table(LoginAttempts::Table)
                    .col(LoginAttempts::Email)
                    .col(LoginAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(string(Categories::Slug).primary_key())
                    .col(string(Categories::Name))
                    .col(text(Categories::Description))
                    .col(integer(Categories::Position))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Capabilities::Table)
                    .col(string(Capabilities::Slug).primary_key())
                    .col(text(Capabilities::Surface))
                    .col(string(Capabilities::Mode))
                    .col(integer_null(Capabilities::Cap))
                    .col(string(Capabilities::Status))
                    .col(integer(Capabilities::CapabilityVersion))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Integrations::Table)
                    .col(string(Integrations::Slug).primary_key())
                    .col(string(Integrations::Name))
                    .col(string(Integrations::CategorySlug))
                    .col(string(Integrations::AuthShape))
                    .col(json(Integrations::ConfigSchema))
                    .col(text(Integrations::Summary))
                    .col(text(Integrations::Description))
                    .col(string_null(Integrations::PartnerUrl))
                    .col(string(Integrations::Status))
                    .col(integer(Integrations::CatalogVersion))
                    .col(timestamp_with_time_zone(Integrations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integrations_category")
                            .from(Integrations::Table, Integrations::CategorySlug)
                            .to(Categories::Table, Categories::Slug),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IntegrationCapabilities::Table)
                    .col(string(IntegrationCapabilities::IntegrationSlug))
                    .col(string(IntegrationCapabilities::CapabilitySlug))
                    .primary_key(
                        Index::create()
                            .col(IntegrationCapabilities::IntegrationSlug)
                            .col(IntegrationCapabilities::CapabilitySlug),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integration_capabilities_integration")
                            .from(
                                IntegrationCapabilities::Table,
                                IntegrationCapabilities::IntegrationSlug,
                            )
                            .to(Integrations::Table, Integrations::Slug)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integration_capabilities_capability")
                            .from(
                                IntegrationCapabilities::Table,
                                IntegrationCapabilities::CapabilitySlug,
                            )
                            .to(Capabilities::Table, Capabilities::Slug),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IntegrationCapabilities::Table.into_iden(),
            Integrations::Table.into_iden(),
            Capabilities::Table.into_iden(),
            Categories::Table.into_iden(),
            LoginAttempts::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            LocationExternalIds::Table.into_iden(),
            Locations::Table.into_iden(),
            Users::Table.into_iden(),
            Merchants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
