//! Messages already consolidated into facts, kept (until retention removes them) so a
//! member's data export and deletion cover them too. Same shape as the short-term log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ArchivedMessages::Table)
                    .if_not_exists()
                    .col(big_integer(ArchivedMessages::MessageId).primary_key())
                    .col(big_integer(ArchivedMessages::ChannelId))
                    .col(big_integer_null(ArchivedMessages::GuildId))
                    .col(big_integer(ArchivedMessages::AuthorId))
                    .col(text(ArchivedMessages::AuthorName))
                    .col(boolean(ArchivedMessages::IsBot).default(false))
                    .col(text(ArchivedMessages::Content))
                    .col(big_integer_null(ArchivedMessages::ReplyTo))
                    .col(timestamp_with_time_zone(ArchivedMessages::CreatedAt))
                    .col(timestamp_with_time_zone_null(ArchivedMessages::EditedAt))
                    .col(timestamp_with_time_zone(ArchivedMessages::ArchivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_archived_messages_channel_created")
                    .table(ArchivedMessages::Table)
                    .col(ArchivedMessages::ChannelId)
                    .col(ArchivedMessages::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_archived_messages_author_created")
                    .table(ArchivedMessages::Table)
                    .col(ArchivedMessages::AuthorId)
                    .col(ArchivedMessages::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ArchivedMessages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ArchivedMessages {
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
    ArchivedAt,
}
