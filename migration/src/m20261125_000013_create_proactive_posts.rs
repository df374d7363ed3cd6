//! Unprompted posts the bot made, so it can rate-limit itself per channel.

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
                    .table(ProactivePosts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ProactivePosts::Id))
                    .col(big_integer(ProactivePosts::ChannelId))
                    .col(big_integer_null(ProactivePosts::MessageId))
                    .col(
                        text(ProactivePosts::Kind)
                            .check(one_of(ProactivePosts::Kind, &["comment", "musing"])),
                    )
                    .col(timestamp_with_time_zone(ProactivePosts::PostedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_proactive_posts_channel_posted")
                    .table(ProactivePosts::Table)
                    .col(ProactivePosts::ChannelId)
                    .col(ProactivePosts::PostedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProactivePosts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ProactivePosts {
    Table,
    Id,
    ChannelId,
    MessageId,
    Kind,
    PostedAt,
}
