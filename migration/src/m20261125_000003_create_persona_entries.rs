//! The bot's identity, one line per row, written by admins.

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
                    .table(PersonaEntries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PersonaEntries::Id))
                    .col(text(PersonaEntries::Kind).check(one_of(
                        PersonaEntries::Kind,
                        &["trait", "lore", "fact", "quirk"],
                    )))
                    .col(text(PersonaEntries::Content))
                    .col(timestamp_with_time_zone(PersonaEntries::CreatedAt))
                    .col(timestamp_with_time_zone(PersonaEntries::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PersonaEntries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PersonaEntries {
    Table,
    Id,
    Kind,
    Content,
    CreatedAt,
    UpdatedAt,
}
