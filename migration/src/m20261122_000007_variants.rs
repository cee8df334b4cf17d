//! Item variants (sizes, flavours): provider variant → variant mappings and
//! the per-location variant read model; how many commands an inbound event
//! applied (import progress); idempotency keys found by their event.
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
enum InboundIdempotency {
    Table,
    EventId,
}

#[derive(DeriveIden)]
enum InboundEvents {
    Table,
    CommandsApplied,
}

#[derive(DeriveIden)]
enum VariantMappings {
    Table,
    MerchantId,
    Provider,
    ProviderVariantId,
    ItemId,
    VariantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CatalogVariants {
    Table,
    MerchantId,
    LocationId,
    VariantId,
    ItemId,
    ProviderVariantId,
    Name,
    PriceMinor,
    Currency,
    Available,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(VariantMappings::Table)
                .col(uuid(VariantMappings::MerchantId))
                .col(string(VariantMappings::Provider))
                .col(string(VariantMappings::ProviderVariantId))
                .col(uuid(VariantMappings::ItemId))
                .col(uuid(VariantMappings::VariantId))
                .col(timestamp_with_time_zone(VariantMappings::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(VariantMappings::MerchantId)
                        .col(VariantMappings::Provider)
                        .col(VariantMappings::ProviderVariantId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(VariantMappings::Table, VariantMappings::MerchantId)
                        .to(Merchants::Table, Merchants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CatalogVariants::Table)
                .col(uuid(CatalogVariants::MerchantId))
                .col(uuid(CatalogVariants::LocationId))
                .col(uuid(CatalogVariants::VariantId))
                .col(uuid(CatalogVariants::ItemId))
                .col(string(CatalogVariants::ProviderVariantId))
                .col(string(CatalogVariants::Name))
                .col(big_integer(CatalogVariants::PriceMinor))
                .col(string(CatalogVariants::Currency))
                .col(boolean(CatalogVariants::Available))
                .col(timestamp_with_time_zone(CatalogVariants::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(CatalogVariants::LocationId)
                        .col(CatalogVariants::VariantId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CatalogVariants::Table, CatalogVariants::LocationId)
                        .to(Locations::Table, Locations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(InboundEvents::Table)
                .add_column(big_integer_null(InboundEvents::CommandsApplied))
                .to_owned(),
        )
        .await?;
        // The acknowledgement writer reads back which keys it stored by
        // event id; replays and retention look keys up the same way.
        m.create_index(
            Index::create()
                .name("ix_inbound_idempotency_event")
                .table(InboundIdempotency::Table)
                .col(InboundIdempotency::EventId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_inbound_idempotency_event")
                .table(InboundIdempotency::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(InboundEvents::Table)
                .drop_column(InboundEvents::CommandsApplied)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(CatalogVariants::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(VariantMappings::Table).to_owned())
            .await
    }
}
