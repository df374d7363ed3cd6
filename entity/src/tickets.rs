//! Support tickets, one thread each (`tickets`); status is open or closed.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub guild_id: i64,
    #[sea_orm(unique)]
    pub thread_id: i64,
    pub opener_id: i64,
    pub subject: String,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub closed_by: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub transcript: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
