//! Small named counters and values shared by the whole bot (daily mood, status line).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GlobalState::Table)
                    .if_not_exists()
                    .col(string_len(GlobalState::Key, 64).primary_key())
                    .col(big_integer(GlobalState::Value))
                    .col(text_null(GlobalState::TextValue))
                    .col(timestamp_with_time_zone(GlobalState::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GlobalState::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum GlobalState {
    Table,
    Key,
    Value,
    TextValue,
    UpdatedAt,
}
