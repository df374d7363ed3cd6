//! The bot's mood of each day (one row per day and dimension), written when the day's mood
//! is rolled, so the console can chart the last 30 days. Bot-wide: nothing about members.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MoodHistory::Table)
                    .if_not_exists()
                    // Days from the common era, as `mood_day` holds them.
                    .col(big_integer(MoodHistory::Day))
                    .col(string_len(MoodHistory::Dimension, 64))
                    .col(big_integer(MoodHistory::Value))
                    .col(timestamp_with_time_zone(MoodHistory::RolledAt))
                    .primary_key(
                        Index::create()
                            .col(MoodHistory::Day)
                            .col(MoodHistory::Dimension),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MoodHistory::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MoodHistory {
    Table,
    Day,
    Dimension,
    Value,
    RolledAt,
}
