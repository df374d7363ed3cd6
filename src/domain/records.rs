//! Records the bot keeps and shows (tickets, run counters, relationship log, exports): plain
//! data returned by the store and rendered by commands.

use chrono::{DateTime, Utc};

use super::{
    ChannelId, GuildId, KnownName, LoggedMessage, MemoryFact, Relationship, RelationshipChange,
    UserId,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Open,
    Closed,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ticket {
    pub id: i64,
    pub guild_id: GuildId,
    pub thread_id: ChannelId,
    pub opener_id: UserId,
    pub subject: String,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<UserId>,
    pub transcript: Option<String>,
}

/// Counters of a run so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunStats {
    pub users_done: u64,
    pub facts_added: u64,
    pub facts_bumped: u64,
    pub messages_archived: u64,
}

/// One logged change.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RelationshipEvent {
    pub id: i64,
    /// The server the relationship belongs to.
    pub guild_id: GuildId,
    pub user_id: UserId,
    pub change: RelationshipChange,
    pub created_at: DateTime<Utc>,
}

/// The `users` row of a member.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub is_bot: bool,
    /// The member asked not to be remembered (`/memory off`).
    pub memory_off: bool,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Everything the bot stores about one member, server by server.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UserExport {
    pub user_id: UserId,
    pub user: Option<UserRecord>,
    /// One entry per server the bot holds something from (and one for direct messages).
    pub servers: Vec<ServerExport>,
}

/// What the bot holds about a member from one server.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ServerExport {
    /// `None`: direct messages.
    pub guild_id: Option<GuildId>,
    pub names: Vec<KnownName>,
    /// Current and superseded facts.
    pub facts: Vec<MemoryFact>,
    /// `None` when the bot never judged the member there (neutral values apply).
    pub relationship: Option<Relationship>,
    /// Newest first.
    pub relationship_events: Vec<RelationshipEvent>,
    /// Short-term log, oldest first.
    pub messages: Vec<LoggedMessage>,
    /// Archive, oldest first.
    pub archived_messages: Vec<LoggedMessage>,
    /// Model tokens spent answering them, per day (kept for their daily budget).
    pub token_usage: Vec<super::spend::DayUsage>,
}

impl UserExport {
    /// Whether the bot holds nothing at all about the member.
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.servers.is_empty()
    }
}

/// What a deletion removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeletionReport {
    pub messages: u64,
    pub facts: u64,
    pub relationship_rows: u64,
    pub user_rows: u64,
}

/// One global-state key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StateEntry {
    pub key: String,
    /// `None` when the key does not exist.
    pub value: Option<i64>,
    pub text: Option<String>,
}

/// A member as the console lists them in one server.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemberSummary {
    pub user_id: UserId,
    pub username: String,
    /// Their latest nickname in that server, if they have one.
    pub nickname: Option<String>,
    pub is_bot: bool,
    pub memory_off: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// The latest consolidation run, as the console's dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    pub stats: RunStats,
}

/// When one chat message was written and whether by a bot (the console's hourly chart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageStamp {
    pub at: DateTime<Utc>,
    pub by_bot: bool,
}

/// One dimension of one day's mood (the console's 30-day chart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoodPoint {
    /// Days from the common era (`NaiveDate::num_days_from_ce`).
    pub day: i64,
    pub dimension: String,
    pub value: i64,
}

/// One server's switches as stored (`None`: no setting of its own), with its channels'.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServerSwitches {
    pub enabled: Option<bool>,
    pub memory: Option<bool>,
    pub channels: Vec<ChannelSwitch>,
}

/// A channel the bot has seen or has a setting for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSwitch {
    pub channel: ChannelId,
    /// `None`: follows the server.
    pub enabled: Option<bool>,
    pub proactive: bool,
}
