//! Progress of a large import: how many canonical commands its plan holds.
//! A large plan is applied in chunks, each its own commit, and
//! `commands_applied` counts what is done so far.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InboundEvents {
    Table,
    CommandsTotal,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(InboundEvents::Table)
                .add_column(big_integer_null(InboundEvents::CommandsTotal))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(InboundEvents::Table)
                .drop_column(InboundEvents::CommandsTotal)
                .to_owned(),
        )
        .await
    }
}
