//! Long-term facts about members (`memory_facts`); `embedding` is f32 little-endian bytes.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memory_facts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The server the fact was learned in (0: direct messages).
    pub guild_id: i64,
    pub user_id: i64,
    #[sea_orm(column_type = "Text")]
    pub fact: String,
    pub category: String,
    pub first_mentioned_at: DateTimeUtc,
    pub last_mentioned_at: DateTimeUtc,
    pub reference_count: i32,
    pub superseded_by: Option<i64>,
    pub valid_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Blob")]
    pub embedding: Option<Vec<u8>>,
    pub embedding_model: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
