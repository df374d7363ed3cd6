//! The recent message log the bot reads its context from. Consolidation moves old rows
//! to `archived_messages`; the primary key makes appends idempotent (gateway replays).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ShortTermMessages::Table)
                    .if_not_exists()
                    .col(big_integer(ShortTermMessages::MessageId).primary_key())
                    .col(big_integer(ShortTermMessages::ChannelId))
                    .col(big_integer_null(ShortTermMessages::GuildId))
                    .col(big_integer(ShortTermMessages::AuthorId))
                    .col(text(ShortTermMessages::AuthorName))
                    .col(boolean(ShortTermMessages::IsBot).default(false))
                    .col(text(ShortTermMessages::Content))
                    .col(big_integer_null(ShortTermMessages::ReplyTo))
                    .col(timestamp_with_time_zone(ShortTermMessages::CreatedAt))
                    .col(timestamp_with_time_zone_null(ShortTermMessages::EditedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_short_term_messages_channel_created")
                    .table(ShortTermMessages::Table)
                    .col(ShortTermMessages::ChannelId)
                    .col(ShortTermMessages::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_short_term_messages_author_created")
                    .table(ShortTermMessages::Table)
                    .col(ShortTermMessages::AuthorId)
                    .col(ShortTermMessages::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ShortTermMessages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ShortTermMessages {
    Table,
    MessageId,
    ChannelId,
    GuildId,
    AuthorId,
    AuthorName,
    IsBot,
    Content,
    ReplyTo,
    CreatedAt,
    EditedAt,
}
