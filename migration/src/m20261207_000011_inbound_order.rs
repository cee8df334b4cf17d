//! Per-connection order of inbound processing across replicas: the claim
//! skips the connections whose events another processor holds, found by
//! this index (received events with a live claim are few).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InboundEvents {
    Table,
    Status,
    ClaimedUntil,
}

const NAME: &str = "ix_inbound_events_claims";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(NAME)
                .table(InboundEvents::Table)
                .col(InboundEvents::Status)
                .col(InboundEvents::ClaimedUntil)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(NAME)
                .table(InboundEvents::Table)
                .to_owned(),
        )
        .await
    }
}
