//! The ban lifter's memory of refused unbans: how many times lifting a temporary ban
//! failed, when it may be tried again, and when it was given up ("could not lift"); and a
//! server's log channel, where the bot reports what it could not do.
//!
//! SQLite alters one column per statement, so each column is its own `ALTER TABLE`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            integer(ModlogCases::LiftFailures).default(0).to_owned(),
            timestamp_with_time_zone_null(ModlogCases::LiftRetryAt),
            timestamp_with_time_zone_null(ModlogCases::LiftGivenUpAt),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(ModlogCases::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(GuildSettings::Table)
                    .add_column(big_integer_null(GuildSettings::LogChannelId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GuildSettings::Table)
                    .drop_column(GuildSettings::LogChannelId)
                    .to_owned(),
            )
            .await?;
        for column in [
            ModlogCases::LiftGivenUpAt,
            ModlogCases::LiftRetryAt,
            ModlogCases::LiftFailures,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ModlogCases::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ModlogCases {
    Table,
    LiftFailures,
    LiftRetryAt,
    LiftGivenUpAt,
}

#[derive(DeriveIden)]
enum GuildSettings {
    Table,
    LogChannelId,
}
