//! Support tickets, one private thread each; the transcript is saved on close.

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
                    .table(Tickets::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Tickets::Id))
                    .col(big_integer(Tickets::GuildId))
                    .col(big_integer_uniq(Tickets::ThreadId))
                    .col(big_integer(Tickets::OpenerId))
                    .col(text(Tickets::Subject))
                    .col(text(Tickets::Status).check(one_of(Tickets::Status, &["open", "closed"])))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone_null(Tickets::ClosedAt))
                    .col(big_integer_null(Tickets::ClosedBy))
                    .col(text_null(Tickets::Transcript))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tickets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    GuildId,
    ThreadId,
    OpenerId,
    Subject,
    Status,
    CreatedAt,
    ClosedAt,
    ClosedBy,
    Transcript,
}
