//! QRIS payments: one row per charge a provider created for an order, with
//! the provider that served it, the failover trail, and what became of it;
//! and refunds of paid orders.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    MerchantId,
    LocationId,
    OrderId,
    Provider,
    InstallId,
    ProviderTransactionId,
    QrString,
    AmountMinor,
    Currency,
    GrossAmount,
    Status,
    ExpiresAt,
    IdempotencyKey,
    RequestHash,
    Failover,
    PaidAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    MerchantId,
    OrderId,
    LocationId,
    AmountMinor,
    Currency,
    Reason,
    CreatedAt,
}

fn cascade(
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Payments::Table)
                .col(uuid(Payments::Id).primary_key())
                .col(uuid(Payments::MerchantId))
                .col(uuid(Payments::LocationId))
                .col(uuid(Payments::OrderId))
                .col(string(Payments::Provider))
                .col(uuid(Payments::InstallId))
                .col(string(Payments::ProviderTransactionId))
                .col(text(Payments::QrString))
                .col(big_integer(Payments::AmountMinor))
                .col(string(Payments::Currency))
                .col(string(Payments::GrossAmount))
                .col(string(Payments::Status))
                .col(timestamp_with_time_zone(Payments::ExpiresAt))
                .col(string_null(Payments::IdempotencyKey))
                .col(string(Payments::RequestHash))
                .col(json(Payments::Failover))
                .col(timestamp_with_time_zone_null(Payments::PaidAt))
                .col(timestamp_with_time_zone(Payments::CreatedAt))
                .col(timestamp_with_time_zone(Payments::UpdatedAt))
                .foreign_key(&mut cascade(
                    (Payments::Table, Payments::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .foreign_key(&mut cascade(
                    (Payments::Table, Payments::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .to_owned(),
        )
        .await?;
        // A retried create with the same Idempotency-Key finds its payment.
        m.create_index(
            Index::create()
                .name("ux_payments_idempotency")
                .table(Payments::Table)
                .col(Payments::MerchantId)
                .col(Payments::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_payments_order")
                .table(Payments::Table)
                .col(Payments::OrderId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_payments_location")
                .table(Payments::Table)
                .col(Payments::LocationId)
                .col(Payments::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Refunds::Table)
                .col(uuid(Refunds::Id).primary_key())
                .col(uuid(Refunds::MerchantId))
                .col(uuid(Refunds::OrderId))
                .col(uuid(Refunds::LocationId))
                .col(big_integer(Refunds::AmountMinor))
                .col(string(Refunds::Currency))
                .col(text(Refunds::Reason))
                .col(timestamp_with_time_zone(Refunds::CreatedAt))
                .foreign_key(&mut cascade(
                    (Refunds::Table, Refunds::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .foreign_key(&mut cascade(
                    (Refunds::Table, Refunds::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_refunds_order")
                .table(Refunds::Table)
                .col(Refunds::OrderId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Refunds::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Payments::Table).to_owned())
            .await
    }
}
