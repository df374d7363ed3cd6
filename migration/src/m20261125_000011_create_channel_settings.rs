//! Per-channel overrides: `bot_enabled` NULL inherits the server's value; proactive posting
//! is opt-in per channel.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChannelSettings::Table)
                    .if_not_exists()
                    .col(big_integer(ChannelSettings::ChannelId).primary_key())
                    .col(big_integer_null(ChannelSettings::GuildId))
                    .col(boolean_null(ChannelSettings::BotEnabled))
                    .col(boolean(ChannelSettings::ProactiveEnabled).default(false))
                    .col(timestamp_with_time_zone(ChannelSettings::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChannelSettings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ChannelSettings {
    Table,
    ChannelId,
    GuildId,
    BotEnabled,
    ProactiveEnabled,
    UpdatedAt,
}
