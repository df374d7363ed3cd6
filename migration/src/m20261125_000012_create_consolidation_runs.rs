//! One row per memory-consolidation run, so a run interrupted by a restart is resumed
//! with the same cutoff instead of starting over.

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
                    .table(ConsolidationRuns::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ConsolidationRuns::Id))
                    .col(timestamp_with_time_zone(ConsolidationRuns::Cutoff))
                    .col(timestamp_with_time_zone(ConsolidationRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(ConsolidationRuns::FinishedAt))
                    .col(text(ConsolidationRuns::Status).check(one_of(
                        ConsolidationRuns::Status,
                        &["running", "finished", "failed"],
                    )))
                    .col(integer(ConsolidationRuns::UsersDone).default(0))
                    .col(integer(ConsolidationRuns::FactsAdded).default(0))
                    .col(integer(ConsolidationRuns::FactsBumped).default(0))
                    .col(integer(ConsolidationRuns::MessagesArchived).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsolidationRuns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ConsolidationRuns {
    Table,
    Id,
    Cutoff,
    StartedAt,
    FinishedAt,
    Status,
    UsersDone,
    FactsAdded,
    FactsBumped,
    MessagesArchived,
}
