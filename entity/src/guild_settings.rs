//! Per-server switch (`guild_settings`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guild_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub guild_id: i64,
    pub bot_enabled: bool,
    /// Whether members of this server are remembered at all.
    pub memory_enabled: bool,
    /// The persona's name in this server (`None`: the base name).
    pub persona_name: Option<String>,
    /// Where the bot reports what it could not do (unbans it had to give up).
    pub log_channel_id: Option<i64>,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
