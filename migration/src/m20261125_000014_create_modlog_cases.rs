//! Moderation cases, numbered per server; temporary bans carry `expires_at` so a restart
//! does not forget to lift them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModlogCases::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ModlogCases::Id))
                    .col(big_integer(ModlogCases::GuildId))
                    .col(integer(ModlogCases::CaseNumber))
                    .col(text(ModlogCases::Action).check(one_of(
                        ModlogCases::Action,
                        &["kick", "ban", "unban", "timeout", "untimeout"],
                    )))
                    .col(big_integer(ModlogCases::TargetId))
                    .col(big_integer(ModlogCases::ModeratorId))
                    .col(text_null(ModlogCases::Reason))
                    .col(timestamp_with_time_zone(ModlogCases::CreatedAt))
                    .col(timestamp_with_time_zone_null(ModlogCases::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ModlogCases::LiftedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_modlog_cases_guild_case")
                    .table(ModlogCases::Table)
                    .col(ModlogCases::GuildId)
                    .col(ModlogCases::CaseNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_modlog_cases_guild_target")
                    .table(ModlogCases::Table)
                    .col(ModlogCases::GuildId)
                    .col(ModlogCases::TargetId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModlogCases::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ModlogCases {
    Table,
    Id,
    GuildId,
    CaseNumber,
    Action,
    TargetId,
    ModeratorId,
    Reason,
    CreatedAt,
    ExpiresAt,
    LiftedAt,
}
