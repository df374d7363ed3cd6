//! Per-server switch: whether the bot speaks there at all.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GuildSettings::Table)
                    .if_not_exists()
                    .col(big_integer(GuildSettings::GuildId).primary_key())
                    .col(boolean(GuildSettings::BotEnabled).default(true))
                    .col(timestamp_with_time_zone(GuildSettings::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GuildSettings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum GuildSettings {
    Table,
    GuildId,
    BotEnabled,
    UpdatedAt,
}
