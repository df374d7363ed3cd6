//! SeaORM entities, one file per table. They mirror the migrations and are used only
//! inside `personabot::store`, which converts rows to domain types before returning.

pub mod prelude;

pub mod archived_messages;
pub mod channel_settings;
pub mod consolidation_runs;
pub mod global_state;
pub mod guild_settings;
pub mod leases;
pub mod memory_facts;
pub mod modlog_cases;
pub mod mood_history;
pub mod persona_entries;
pub mod proactive_posts;
pub mod relationship_events;
pub mod relationships;
pub mod short_term_messages;
pub mod tickets;
pub mod token_usage;
pub mod user_names;
pub mod users;
