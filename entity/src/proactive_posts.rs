//! Unprompted posts (`proactive_posts`); kind is comment or musing.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "proactive_posts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel_id: i64,
    pub message_id: Option<i64>,
    pub kind: String,
    pub posted_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
