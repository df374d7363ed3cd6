//! Relationship metrics per member (`relationships`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relationships")]
pub struct Model {
    /// The server this relationship belongs to (0: direct messages).
    #[sea_orm(primary_key, auto_increment = false)]
    pub guild_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    pub anger: i16,
    pub rapport: i16,
    pub trust: i16,
    pub formality: i16,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
