//! Schema migrations, one per file, applied in order by `Migrator::up` when the bot starts.
//!
//! Every migration must run on SQLite (the default) and PostgreSQL (large installs), so they
//! are written with sea-query builders only: no backend-specific SQL.
//! Discord ids are BIGINT; timestamps are timezone-aware.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_users;
mod m20261125_000002_create_user_names;
mod m20261125_000003_create_persona_entries;
mod m20261125_000004_create_memory_facts;
mod m20261125_000005_create_relationships;
mod m20261125_000006_create_relationship_events;
mod m20261125_000007_create_global_state;
mod m20261125_000008_create_short_term_messages;
mod m20261125_000009_create_archived_messages;
mod m20261125_000010_create_guild_settings;
mod m20261125_000011_create_channel_settings;
mod m20261125_000012_create_consolidation_runs;
mod m20261125_000013_create_proactive_posts;
mod m20261125_000014_create_modlog_cases;
mod m20261125_000015_create_tickets;
mod m20261129_000016_server_tenancy;
mod m20261129_000017_track_unban_attempts;
mod m20261129_000018_create_token_usage;
mod m20261129_000019_create_leases;
mod m20261129_000020_create_mood_history;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_users::Migration),
            Box::new(m20261125_000002_create_user_names::Migration),
            Box::new(m20261125_000003_create_persona_entries::Migration),
            Box::new(m20261125_000004_create_memory_facts::Migration),
            Box::new(m20261125_000005_create_relationships::Migration),
            Box::new(m20261125_000006_create_relationship_events::Migration),
            Box::new(m20261125_000007_create_global_state::Migration),
            Box::new(m20261125_000008_create_short_term_messages::Migration),
            Box::new(m20261125_000009_create_archived_messages::Migration),
            Box::new(m20261125_000010_create_guild_settings::Migration),
            Box::new(m20261125_000011_create_channel_settings::Migration),
            Box::new(m20261125_000012_create_consolidation_runs::Migration),
            Box::new(m20261125_000013_create_proactive_posts::Migration),
            Box::new(m20261125_000014_create_modlog_cases::Migration),
            Box::new(m20261125_000015_create_tickets::Migration),
            Box::new(m20261129_000016_server_tenancy::Migration),
            Box::new(m20261129_000017_track_unban_attempts::Migration),
            Box::new(m20261129_000018_create_token_usage::Migration),
            Box::new(m20261129_000019_create_leases::Migration),
            Box::new(m20261129_000020_create_mood_history::Migration),
        ]
    }
}

/// `CHECK (col IN (...))`: how the text enums (kind, status, action) are constrained.
pub(crate) fn one_of<T: IntoIden + 'static>(col: T, values: &[&str]) -> SimpleExpr {
    Expr::col(col).is_in(values.iter().copied())
}
