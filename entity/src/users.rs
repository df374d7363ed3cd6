//! Members and bots the bot has seen (`users`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub username: String,
    pub is_bot: bool,
    /// The member asked not to be remembered (`/memory off`), in every server.
    pub memory_off: bool,
    pub first_seen_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub names: HasMany<super::user_names::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
