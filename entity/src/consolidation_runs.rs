//! Memory-consolidation runs (`consolidation_runs`); status is running, finished or failed.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consolidation_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub cutoff: DateTimeUtc,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub status: String,
    pub users_done: i32,
    pub facts_added: i32,
    pub facts_bumped: i32,
    pub messages_archived: i32,
    /// The shard range of the process that runs it (`ShardSet::key`, `all` for one process).
    pub scope: String,
}

impl ActiveModelBehavior for ActiveModel {}
