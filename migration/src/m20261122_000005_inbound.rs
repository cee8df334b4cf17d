//! The inbound gateway: provider connections, identity mappings, inbound
//! events with their idempotency keys, auth-failure counters, the outbox,
//! and the catalog and store-status read models.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ProviderConnections {
    Table,
    Id,
    MerchantId,
    Provider,
    AccountId,
    Secret,
    IpAllowlist,
    AllowNewItems,
    Enabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StoreMappings {
    Table,
    MerchantId,
    Provider,
    ProviderStoreId,
    LocationId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ItemMappings {
    Table,
    MerchantId,
    Provider,
    ProviderSku,
    ItemId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InboundEvents {
    Table,
    Id,
    MerchantId,
    ConnectionId,
    Provider,
    Family,
    Topic,
    LocationId,
    ProviderStoreId,
    ReceivedAt,
    Headers,
    BlobKey,
    BodySha256,
    BodySize,
    IdempotencyKey,
    Status,
    FailureClass,
    FailureReason,
    DuplicateOf,
    Attempts,
    ClaimedUntil,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum InboundIdempotency {
    Table,
    Provider,
    MerchantId,
    Key,
    EventId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InboundAuthFailures {
    Table,
    Provider,
    Reason,
    Minute,
    Count,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Topic,
    Kind,
    MerchantId,
    Key,
    Payload,
    SourceEventId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CatalogItems {
    Table,
    MerchantId,
    LocationId,
    ItemId,
    ProviderSku,
    Name,
    Category,
    PriceMinor,
    Currency,
    Available,
    StockLevel,
    Unit,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StoreStatus {
    Table,
    LocationId,
    MerchantId,
    Open,
    Reason,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ProviderConnections::Table)
                .col(uuid(ProviderConnections::Id).primary_key())
                .col(uuid(ProviderConnections::MerchantId))
                .col(string(ProviderConnections::Provider))
                .col(string(ProviderConnections::AccountId))
                .col(text(ProviderConnections::Secret))
                .col(json(ProviderConnections::IpAllowlist))
                .col(boolean(ProviderConnections::AllowNewItems))
                .col(boolean(ProviderConnections::Enabled))
                .col(timestamp_with_time_zone(ProviderConnections::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ProviderConnections::Table, ProviderConnections::MerchantId)
                        .to(Merchants::Table, Merchants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_provider_connections_account")
                .table(ProviderConnections::Table)
                .col(ProviderConnections::Provider)
                .col(ProviderConnections::AccountId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(StoreMappings::Table)
                .col(uuid(StoreMappings::MerchantId))
                .col(string(StoreMappings::Provider))
                .col(string(StoreMappings::ProviderStoreId))
                .col(uuid(StoreMappings::LocationId))
                .col(timestamp_with_time_zone(StoreMappings::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(StoreMappings::MerchantId)
                        .col(StoreMappings::Provider)
                        .col(StoreMappings::ProviderStoreId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(StoreMappings::Table, StoreMappings::LocationId)
                        .to(Locations::Table, Locations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ItemMappings::Table)
                .col(uuid(ItemMappings::MerchantId))
                .col(string(ItemMappings::Provider))
                .col(string(ItemMappings::ProviderSku))
                .col(uuid(ItemMappings::ItemId))
                .col(timestamp_with_time_zone(ItemMappings::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(ItemMappings::MerchantId)
                        .col(ItemMappings::Provider)
                        .col(ItemMappings::ProviderSku),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InboundEvents::Table)
                .col(uuid(InboundEvents::Id).primary_key())
                .col(uuid(InboundEvents::MerchantId))
                .col(uuid(InboundEvents::ConnectionId))
                .col(string(InboundEvents::Provider))
                .col(string(InboundEvents::Family))
                .col(string(InboundEvents::Topic))
                .col(uuid_null(InboundEvents::LocationId))
                .col(string_null(InboundEvents::ProviderStoreId))
                .col(timestamp_with_time_zone(InboundEvents::ReceivedAt))
                .col(json(InboundEvents::Headers))
                .col(string(InboundEvents::BlobKey))
                .col(string(InboundEvents::BodySha256))
                .col(big_integer(InboundEvents::BodySize))
                .col(string(InboundEvents::IdempotencyKey))
                .col(string(InboundEvents::Status))
                .col(string_null(InboundEvents::FailureClass))
                .col(text_null(InboundEvents::FailureReason))
                .col(uuid_null(InboundEvents::DuplicateOf))
                .col(integer(InboundEvents::Attempts).default(0))
                .col(timestamp_with_time_zone_null(InboundEvents::ClaimedUntil))
                .col(timestamp_with_time_zone_null(InboundEvents::ProcessedAt))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_inbound_events_status",
                vec![InboundEvents::Status, InboundEvents::ReceivedAt],
            ),
            (
                "ix_inbound_events_merchant",
                vec![InboundEvents::MerchantId, InboundEvents::ReceivedAt],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(InboundEvents::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(InboundIdempotency::Table)
                .col(string(InboundIdempotency::Provider))
                .col(uuid(InboundIdempotency::MerchantId))
                .col(string(InboundIdempotency::Key))
                .col(uuid(InboundIdempotency::EventId))
                .col(timestamp_with_time_zone(InboundIdempotency::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(InboundIdempotency::Provider)
                        .col(InboundIdempotency::MerchantId)
                        .col(InboundIdempotency::Key),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InboundAuthFailures::Table)
                .col(string(InboundAuthFailures::Provider))
                .col(string(InboundAuthFailures::Reason))
                .col(big_integer(InboundAuthFailures::Minute))
                .col(big_integer(InboundAuthFailures::Count))
                .primary_key(
                    Index::create()
                        .col(InboundAuthFailures::Provider)
                        .col(InboundAuthFailures::Reason)
                        .col(InboundAuthFailures::Minute),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(big_integer(Outbox::Id).auto_increment().primary_key())
                .col(string(Outbox::Topic))
                .col(string(Outbox::Kind))
                .col(uuid(Outbox::MerchantId))
                .col(string(Outbox::Key))
                .col(json(Outbox::Payload))
                .col(uuid_null(Outbox::SourceEventId))
                .col(timestamp_with_time_zone(Outbox::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CatalogItems::Table)
                .col(uuid(CatalogItems::MerchantId))
                .col(uuid(CatalogItems::LocationId))
                .col(uuid(CatalogItems::ItemId))
                .col(string(CatalogItems::ProviderSku))
                .col(string(CatalogItems::Name))
                .col(string(CatalogItems::Category))
                .col(big_integer(CatalogItems::PriceMinor))
                .col(string(CatalogItems::Currency))
                .col(boolean(CatalogItems::Available))
                .col(double_null(CatalogItems::StockLevel))
                .col(string(CatalogItems::Unit))
                .col(timestamp_with_time_zone(CatalogItems::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(CatalogItems::LocationId)
                        .col(CatalogItems::ItemId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CatalogItems::Table, CatalogItems::LocationId)
                        .to(Locations::Table, Locations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(StoreStatus::Table)
                .col(uuid(StoreStatus::LocationId).primary_key())
                .col(uuid(StoreStatus::MerchantId))
                .col(boolean(StoreStatus::Open))
                .col(text_null(StoreStatus::Reason))
                .col(timestamp_with_time_zone(StoreStatus::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(StoreStatus::Table, StoreStatus::LocationId)
                        .to(Locations::Table, Locations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            StoreStatus::Table.into_iden(),
            CatalogItems::Table.into_iden(),
            Outbox::Table.into_iden(),
            InboundAuthFailures::Table.into_iden(),
            InboundIdempotency::Table.into_iden(),
            InboundEvents::Table.into_iden(),
            ItemMappings::Table.into_iden(),
            StoreMappings::Table.into_iden(),
            ProviderConnections::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
