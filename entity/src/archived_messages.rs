//! Consolidated messages (`archived_messages`): the short-term shape plus `archived_at`.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "archived_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: i64,
    pub channel_id: i64,
    pub guild_id: Option<i64>,
    pub author_id: i64,
    pub author_name: String,
    pub is_bot: bool,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub reply_to: Option<i64>,
    pub created_at: DateTimeUtc,
    pub edited_at: Option<DateTimeUtc>,
    pub archived_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
