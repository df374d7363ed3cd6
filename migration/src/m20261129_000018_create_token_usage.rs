//! Model tokens spent per day and scope (the whole bot, a server, a member in a server),
//! so daily budgets survive restarts and can be shared by several processes.

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
                    .table(TokenUsage::Table)
                    .if_not_exists()
                    // The UTC date, `YYYY-MM-DD`.
                    .col(string_len(TokenUsage::Day, 10))
                    .col(
                        string_len(TokenUsage::Scope, 8)
                            .check(one_of(TokenUsage::Scope, &["global", "server", "member"])),
                    )
                    // 0 where the scope has no server (global) or no member (global, server).
                    .col(big_integer(TokenUsage::GuildId))
                    .col(big_integer(TokenUsage::UserId))
                    .col(big_integer(TokenUsage::PromptTokens).default(0))
                    .col(big_integer(TokenUsage::CompletionTokens).default(0))
                    .col(big_integer(TokenUsage::CachedTokens).default(0))
                    .col(big_integer(TokenUsage::Requests).default(0))
                    // The bot said this budget is spent (once a day per scope).
                    .col(boolean(TokenUsage::Noticed).default(false))
                    .col(timestamp_with_time_zone(TokenUsage::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(TokenUsage::Day)
                            .col(TokenUsage::Scope)
                            .col(TokenUsage::GuildId)
                            .col(TokenUsage::UserId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TokenUsage::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TokenUsage {
    Table,
    Day,
    Scope,
    GuildId,
    UserId,
    PromptTokens,
    CompletionTokens,
    CachedTokens,
    Requests,
    Noticed,
    UpdatedAt,
}
