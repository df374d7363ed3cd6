//! Named values shared by the whole bot (`global_state`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "global_state")]
pub struct Model {
    /// 0: bot-wide state; otherwise that server's.
    #[sea_orm(primary_key, auto_increment = false)]
    pub guild_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub value: i64,
    #[sea_orm(column_type = "Text")]
    pub text_value: Option<String>,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
