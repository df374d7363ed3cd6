//! Why each relationship metric moved: an append-only log members can ask to see.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RelationshipEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RelationshipEvents::Id))
                    .col(big_integer(RelationshipEvents::UserId))
                    .col(text(RelationshipEvents::Metric).check(one_of_metric()))
                    .col(small_integer(RelationshipEvents::OldValue))
                    .col(small_integer(RelationshipEvents::NewValue))
                    .col(text(RelationshipEvents::Reason))
                    .col(timestamp_with_time_zone(RelationshipEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_relationship_events_user")
                    .table(RelationshipEvents::Table)
                    .col(RelationshipEvents::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RelationshipEvents::Table).to_owned())
            .await
    }
}

fn one_of_metric() -> SimpleExpr {
    crate::one_of(
        RelationshipEvents::Metric,
        &["anger", "rapport", "trust", "formality"],
    )
}

#[derive(DeriveIden)]
enum RelationshipEvents {
    Table,
    Id,
    UserId,
    Metric,
    OldValue,
    NewValue,
    Reason,
    CreatedAt,
}
