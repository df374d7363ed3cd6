//! Lines of the bot's identity (`persona_entries`); `kind` is trait, lore, fact or quirk.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "persona_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `None`: the global base persona; otherwise that server's layer.
    pub guild_id: Option<i64>,
    /// A server entry shown in place of this base entry in that server.
    pub replaces: Option<i64>,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
