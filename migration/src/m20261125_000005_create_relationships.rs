//! The four relationship metrics per member; the CHECKs repeat the domain's bounds.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Relationships::Table)
                    .if_not_exists()
                    .col(big_integer(Relationships::UserId).primary_key())
                    .col(
                        small_integer(Relationships::Anger)
                            .check(Expr::col(Relationships::Anger).between(0, 10)),
                    )
                    .col(
                        small_integer(Relationships::Rapport)
                            .check(Expr::col(Relationships::Rapport).between(0, 10)),
                    )
                    .col(
                        small_integer(Relationships::Trust)
                            .check(Expr::col(Relationships::Trust).between(0, 10)),
                    )
                    .col(
                        small_integer(Relationships::Formality)
                            .check(Expr::col(Relationships::Formality).between(-5, 5)),
                    )
                    .col(timestamp_with_time_zone(Relationships::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Relationships::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Relationships {
    Table,
    UserId,
    Anger,
    Rapport,
    Trust,
    Formality,
    UpdatedAt,
}
