//! OAuth: each integration's endpoints from the catalog, and the tokens of
//! connected installs with the lease that keeps refreshes one at a time.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Oauth,
}

#[derive(DeriveIden)]
enum Installs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OauthConnections {
    Table,
    InstallId,
    MerchantId,
    AccessToken,
    RefreshToken,
    TokenType,
    Scopes,
    ExpiresAt,
    ConnectedAt,
    RefreshedAt,
    Version,
    Failures,
    LastError,
    RetryAfter,
    LeaseOwner,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(json_null(Integrations::Oauth))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthConnections::Table)
                    .col(uuid(OauthConnections::InstallId).primary_key())
                    .col(uuid(OauthConnections::MerchantId))
                    .col(text(OauthConnections::AccessToken))
                    .col(text_null(OauthConnections::RefreshToken))
                    .col(string(OauthConnections::TokenType))
                    .col(text(OauthConnections::Scopes))
                    .col(timestamp_with_time_zone_null(OauthConnections::ExpiresAt))
                    .col(timestamp_with_time_zone(OauthConnections::ConnectedAt))
                    .col(timestamp_with_time_zone_null(OauthConnections::RefreshedAt))
                    .col(integer(OauthConnections::Version).default(1))
                    .col(integer(OauthConnections::Failures).default(0))
                    .col(text_null(OauthConnections::LastError))
                    .col(timestamp_with_time_zone_null(OauthConnections::RetryAfter))
                    .col(string_null(OauthConnections::LeaseOwner))
                    .col(timestamp_with_time_zone_null(OauthConnections::LeaseUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_connections_install")
                            .from(OauthConnections::Table, OauthConnections::InstallId)
                            .to(Installs::Table, Installs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_oauth_connections_expires_at")
                    .table(OauthConnections::Table)
                    .col(OauthConnections::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OauthConnections::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .drop_column(Integrations::Oauth)
                    .to_owned(),
            )
            .await
    }
}
