//! Outbound: partner webhook endpoints, the durable delivery queue and its
//! attempts; orders with their status history and receipt attachments;
//! how far each outbox consumer has read.
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
enum WebhookEndpoints {
    Table,
    Id,
    MerchantId,
    LocationId,
    Url,
    Description,
    EventTypes,
    Format,
    Secret,
    PreviousSecret,
    PreviousUntil,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    MerchantId,
    LocationId,
    Reference,
    Status,
    Version,
    TotalMinor,
    Currency,
    Payload,
    ExternalOrderId,
    ExternalProvider,
    DispatchStatus,
    DispatchReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    MerchantId,
    LocationId,
    Target,
    EndpointId,
    Provider,
    EventType,
    OrderId,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastStatusCode,
    LastError,
    ExternalOrderId,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum DeliveryAttempts {
    Table,
    Id,
    DeliveryId,
    Attempt,
    AttemptedAt,
    StatusCode,
    LatencyMs,
    Outcome,
    ResponseExcerpt,
    Error,
}

#[derive(DeriveIden)]
enum OrderStatusHistory {
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    Version,
    Source,
    At,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Topic,
    Id,
}

#[derive(DeriveIden)]
enum OutboxCursors {
    Table,
    Consumer,
    LastId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReceiptAttachments {
    Table,
    OrderId,
    Position,
    InstallId,
    IntegrationSlug,
    Kind,
    Label,
    Content,
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
                .table(WebhookEndpoints::Table)
                .col(uuid(WebhookEndpoints::Id).primary_key())
                .col(uuid(WebhookEndpoints::MerchantId))
                .col(uuid_null(WebhookEndpoints::LocationId))
                .col(string(WebhookEndpoints::Url))
                .col(string(WebhookEndpoints::Description))
                .col(json(WebhookEndpoints::EventTypes))
                .col(string(WebhookEndpoints::Format))
                .col(text(WebhookEndpoints::Secret))
                .col(text_null(WebhookEndpoints::PreviousSecret))
                .col(timestamp_with_time_zone_null(
                    WebhookEndpoints::PreviousUntil,
                ))
                .col(boolean(WebhookEndpoints::Enabled))
                .col(string_null(WebhookEndpoints::DisabledReason))
                .col(timestamp_with_time_zone_null(
                    WebhookEndpoints::FailingSince,
                ))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                .foreign_key(&mut cascade(
                    (WebhookEndpoints::Table, WebhookEndpoints::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .foreign_key(&mut cascade(
                    (WebhookEndpoints::Table, WebhookEndpoints::LocationId),
                    (Locations::Table, Locations::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_endpoints_merchant")
                .table(WebhookEndpoints::Table)
                .col(WebhookEndpoints::MerchantId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(uuid(Orders::Id).primary_key())
                .col(uuid(Orders::MerchantId))
                .col(uuid(Orders::LocationId))
                .col(string(Orders::Reference))
                .col(string(Orders::Status))
                .col(integer(Orders::Version))
                .col(big_integer(Orders::TotalMinor))
                .col(string(Orders::Currency))
                .col(json(Orders::Payload))
                .col(string_null(Orders::ExternalOrderId))
                .col(string_null(Orders::ExternalProvider))
                .col(string(Orders::DispatchStatus))
                .col(string_null(Orders::DispatchReason))
                .col(timestamp_with_time_zone(Orders::CreatedAt))
                .col(timestamp_with_time_zone(Orders::UpdatedAt))
                .foreign_key(&mut cascade(
                    (Orders::Table, Orders::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .foreign_key(&mut cascade(
                    (Orders::Table, Orders::LocationId),
                    (Locations::Table, Locations::Id),
                ))
                .to_owned(),
        )
        .await?;
        // One order per caller reference and merchant: dispatching the same
        // order again (another event) finds it.
        m.create_index(
            Index::create()
                .name("ux_orders_reference")
                .table(Orders::Table)
                .col(Orders::MerchantId)
                .col(Orders::Reference)
                .unique()
                .to_owned(),
        )
        .await?;
        // The POS's order id, looked up by (external id, provider) when the
        // POS reports a status (seed 002).
        m.create_index(
            Index::create()
                .name("ix_orders_external")
                .table(Orders::Table)
                .col(Orders::ExternalOrderId)
                .col(Orders::ExternalProvider)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_orders_location")
                .table(Orders::Table)
                .col(Orders::LocationId)
                .col(Orders::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Deliveries::Table)
                .col(uuid(Deliveries::Id).primary_key())
                .col(uuid(Deliveries::MerchantId))
                .col(uuid_null(Deliveries::LocationId))
                .col(string(Deliveries::Target))
                .col(uuid_null(Deliveries::EndpointId))
                .col(string_null(Deliveries::Provider))
                .col(string(Deliveries::EventType))
                .col(uuid_null(Deliveries::OrderId))
                .col(blob(Deliveries::Body))
                .col(string(Deliveries::Status))
                .col(integer(Deliveries::Attempts))
                .col(timestamp_with_time_zone_null(Deliveries::NextAttemptAt))
                .col(timestamp_with_time_zone_null(Deliveries::ClaimedUntil))
                .col(integer_null(Deliveries::LastStatusCode))
                .col(text_null(Deliveries::LastError))
                .col(string_null(Deliveries::ExternalOrderId))
                .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                .col(timestamp_with_time_zone(Deliveries::UpdatedAt))
                .col(timestamp_with_time_zone_null(Deliveries::FinishedAt))
                .foreign_key(&mut cascade(
                    (Deliveries::Table, Deliveries::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .foreign_key(&mut cascade(
                    (Deliveries::Table, Deliveries::EndpointId),
                    (WebhookEndpoints::Table, WebhookEndpoints::Id),
                ))
                .foreign_key(&mut cascade(
                    (Deliveries::Table, Deliveries::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .to_owned(),
        )
        .await?;
        // The worker's scan: what is due next.
        m.create_index(
            Index::create()
                .name("ix_deliveries_due")
                .table(Deliveries::Table)
                .col(Deliveries::Status)
                .col(Deliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deliveries_endpoint")
                .table(Deliveries::Table)
                .col(Deliveries::EndpointId)
                .col(Deliveries::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deliveries_order")
                .table(Deliveries::Table)
                .col(Deliveries::OrderId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DeliveryAttempts::Table)
                .col(
                    big_integer(DeliveryAttempts::Id)
                        .primary_key()
                        .auto_increment(),
                )
                .col(uuid(DeliveryAttempts::DeliveryId))
                .col(integer(DeliveryAttempts::Attempt))
                .col(timestamp_with_time_zone(DeliveryAttempts::AttemptedAt))
                .col(integer_null(DeliveryAttempts::StatusCode))
                .col(integer(DeliveryAttempts::LatencyMs))
                .col(string(DeliveryAttempts::Outcome))
                .col(text_null(DeliveryAttempts::ResponseExcerpt))
                .col(text_null(DeliveryAttempts::Error))
                .foreign_key(&mut cascade(
                    (DeliveryAttempts::Table, DeliveryAttempts::DeliveryId),
                    (Deliveries::Table, Deliveries::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_delivery_attempts_delivery")
                .table(DeliveryAttempts::Table)
                .col(DeliveryAttempts::DeliveryId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OrderStatusHistory::Table)
                .col(
                    big_integer(OrderStatusHistory::Id)
                        .primary_key()
                        .auto_increment(),
                )
                .col(uuid(OrderStatusHistory::OrderId))
                .col(string_null(OrderStatusHistory::FromStatus))
                .col(string(OrderStatusHistory::ToStatus))
                .col(integer(OrderStatusHistory::Version))
                .col(string(OrderStatusHistory::Source))
                .col(timestamp_with_time_zone(OrderStatusHistory::At))
                .foreign_key(&mut cascade(
                    (OrderStatusHistory::Table, OrderStatusHistory::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_order_status_history_order")
                .table(OrderStatusHistory::Table)
                .col(OrderStatusHistory::OrderId)
                .to_owned(),
        )
        .await?;

        // Consumers read one topic past their cursor.
        m.create_index(
            Index::create()
                .name("ix_outbox_topic_id")
                .table(Outbox::Table)
                .col(Outbox::Topic)
                .col(Outbox::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OutboxCursors::Table)
                .col(string(OutboxCursors::Consumer).primary_key())
                .col(big_integer(OutboxCursors::LastId))
                .col(timestamp_with_time_zone(OutboxCursors::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReceiptAttachments::Table)
                .col(uuid(ReceiptAttachments::OrderId))
                .col(integer(ReceiptAttachments::Position))
                .col(uuid(ReceiptAttachments::InstallId))
                .col(string(ReceiptAttachments::IntegrationSlug))
                .col(string(ReceiptAttachments::Kind))
                .col(string(ReceiptAttachments::Label))
                .col(text(ReceiptAttachments::Content))
                .col(timestamp_with_time_zone(ReceiptAttachments::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(ReceiptAttachments::OrderId)
                        .col(ReceiptAttachments::Position),
                )
                .foreign_key(&mut cascade(
                    (ReceiptAttachments::Table, ReceiptAttachments::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReceiptAttachments::Table.into_iden(),
            OutboxCursors::Table.into_iden(),
            OrderStatusHistory::Table.into_iden(),
            DeliveryAttempts::Table.into_iden(),
            Deliveries::Table.into_iden(),
            Orders::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.drop_index(
            Index::drop()
                .name("ix_outbox_topic_id")
                .table(Outbox::Table)
                .to_owned(),
        )
        .await
    }
}
