//! Moderation cases numbered per server (`modlog_cases`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "modlog_cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub guild_id: i64,
    pub case_number: i32,
    pub action: String,
    pub target_id: i64,
    pub moderator_id: i64,
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub lifted_at: Option<DateTimeUtc>,
    /// Failed attempts to lift this temporary ban.
    pub lift_failures: i32,
    /// Not tried again before this time (backoff after a failure).
    pub lift_retry_at: Option<DateTimeUtc>,
    /// Given up after too many failures: "could not lift".
    pub lift_given_up_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
