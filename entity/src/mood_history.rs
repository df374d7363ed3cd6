//! The mood of each day (`mood_history`), one row per day and dimension.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mood_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub dimension: String,
    pub value: i64,
    pub rolled_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
