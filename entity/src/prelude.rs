//! Re-exports every entity under a readable name.

pub use super::archived_messages::Entity as ArchivedMessages;
pub use super::channel_settings::Entity as ChannelSettings;
pub use super::consolidation_runs::Entity as ConsolidationRuns;
pub use super::global_state::Entity as GlobalState;
pub use super::guild_settings::Entity as GuildSettings;
pub use super::leases::Entity as Leases;
pub use super::memory_facts::Entity as MemoryFacts;
pub use super::modlog_cases::Entity as ModlogCases;
pub use super::mood_history::Entity as MoodHistory;
pub use super::persona_entries::Entity as PersonaEntries;
pub use super::proactive_posts::Entity as ProactivePosts;
pub use super::relationship_events::Entity as RelationshipEvents;
pub use super::relationships::Entity as Relationships;
pub use super::short_term_messages::Entity as ShortTermMessages;
pub use super::tickets::Entity as Tickets;
pub use super::token_usage::Entity as TokenUsage;
pub use super::user_names::Entity as UserNames;
pub use super::users::Entity as Users;
