//! Nickname history: every name a member was seen under, per server (0 = global name).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserNames::Table)
                    .if_not_exists()
                    .col(big_pk_auto(UserNames::Id))
                    .col(big_integer(UserNames::UserId))
                    .col(big_integer(UserNames::GuildId))
                    .col(text(UserNames::Name))
                    .col(timestamp_with_time_zone(UserNames::FirstSeenAt))
                    .col(timestamp_with_time_zone(UserNames::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_names_user")
                            .from(UserNames::Table, UserNames::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_user_names_user_guild_name")
                    .table(UserNames::Table)
                    .col(UserNames::UserId)
                    .col(UserNames::GuildId)
                    .col(UserNames::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserNames::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UserNames {
    Table,
    Id,
    UserId,
    GuildId,
    Name,
    FirstSeenAt,
    LastSeenAt,
}
