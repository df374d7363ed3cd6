//! Leases for work that must happen once when several bot processes share one database:
//! a row per piece of work (`shards:0-0/2`, `new_day`), held by one process until it
//! releases it or it expires (a killed process cannot release; its lease runs out). And
//! the scope of a consolidation run (the shard range of the process that runs it, `all`
//! for a single process), so a standby for the same range resumes exactly that run.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .if_not_exists()
                    .col(string_len(Leases::Name, 100).primary_key())
                    // The holding process's instance id (`App::instance`).
                    .col(string_len(Leases::Holder, 100))
                    .col(timestamp_with_time_zone(Leases::ExpiresAt))
                    .col(timestamp_with_time_zone(Leases::AcquiredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ConsolidationRuns::Table)
                    .add_column(string_len(ConsolidationRuns::Scope, 40).default("all"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ConsolidationRuns::Table)
                    .drop_column(ConsolidationRuns::Scope)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Leases::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
    AcquiredAt,
}

#[derive(DeriveIden)]
enum ConsolidationRuns {
    Table,
    Scope,
}
