//! The store port: the database operations each step needs, over domain types, and the one
//! error type they share.
//!
//! `actors::store::StoreHandle` implements every trait here by sending typed requests to
//! the StoreActor; a step names only the trait it needs, so what a step may touch in the
//! database is written in its signature.

use crate::domain::budget::TokenUsage;
use crate::domain::lifting::{LiftState, PendingCase};
use crate::domain::spend::{ScopeSpend, SpendScope};
use crate::domain::{
    ChannelId, FactChange, KnownName, LoggedMessage, MemoryFact, MessageId, ModCase, Persona,
    ProactiveKind, Relationship, RelationshipChange, RelationshipError, RunStats, ServerMember,
    UnknownValue, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Why a store operation failed, classified where the database error is seen (inside
/// `store/`) so callers decide on retrying without knowing the driver.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable or busy for now (locked, connection reset, pool
    /// timeout): the same operation may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused this operation (a constraint, a statement it rejects): retrying
    /// the same thing fails the same way.
    #[error("database error: {0}")]
    Rejected(String),
    /// The StoreActor is not running or did not answer in time.
    #[error("store not answering: {0}")]
    NotAnswering(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: i64 },
    /// Input refused before anything was written (empty text, too long, bad key...).
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error(transparent)]
    Relationship(#[from] RelationshipError),
    /// A row holds a value the code does not understand (an unknown enum string).
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
    #[error("cannot prepare the database directory: {0}")]
    Io(String),
}

impl StoreError {
    /// Worth retrying the same operation later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::NotAnswering(_)
        )
    }
}

impl From<UnknownValue> for StoreError {
    fn from(value: UnknownValue) -> Self {
        StoreError::Corrupt(value.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        StoreError::Io(error.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything a reply is built from, read together at the moment of the reply.
#[derive(Clone, Debug, Default)]
pub struct ReplyInputs {
    pub transcript: Vec<LoggedMessage>,
    pub facts: Vec<MemoryFact>,
    pub relationship: Relationship,
    pub known_names: Vec<KnownName>,
    pub persona: Persona,
    pub mood: BTreeMap<String, i64>,
    /// Today's token spend of the member, their server and the bot (scopes that spent).
    pub spend: Vec<(SpendScope, ScopeSpend)>,
}

/// A member seen in chat: keeps the users table and nickname history current.
#[derive(Clone, Debug)]
pub struct MemberSighting {
    pub user: UserId,
    pub username: String,
    pub is_bot: bool,
    pub guild: Option<crate::domain::GuildId>,
    /// Server nickname or global display name, when the member has one.
    pub display_name: Option<String>,
    pub seen_at: DateTime<Utc>,
}

/// One member's (or several members') consolidation, committed all or nothing: the fact
/// changes, the archive move of the messages they came from, and the run's progress.
#[derive(Clone, Debug)]
pub struct ConsolidationCommit {
    pub run_id: i64,
    pub changes: Vec<FactChange>,
    pub archive: Vec<MessageId>,
    /// Messages deleted instead of archived: their author or server turned memory off.
    pub forget: Vec<MessageId>,
    /// The run's counters after this commit (the archive count is added by the store).
    pub progress: RunStats,
    /// The embedding model new vectors are stamped with.
    pub embedding_model: Option<String>,
    /// The run's clock: when facts were mentioned and messages archived.
    pub at: DateTime<Utc>,
}

/// Members and servers that turned memory off.
#[derive(Clone, Debug, Default)]
pub struct MemorySwitches {
    pub users_off: Vec<UserId>,
    pub servers_off: Vec<crate::domain::GuildId>,
}

impl MemorySwitches {
    /// Whether the member's messages in that server may be remembered.
    pub fn remembers(&self, member: ServerMember) -> bool {
        !self.users_off.contains(&member.user) && !self.servers_off.contains(&member.guild)
    }
}

/// What the persona speaks from: read by replies, proactive posts and the daily status.
#[async_trait]
pub trait PersonaReads: Send + Sync {
    /// The persona as `guild` sees it (base and that server's layer); `None`: the base.
    async fn persona(&self, guild: Option<crate::domain::GuildId>) -> StoreResult<Persona>;
    async fn mood(&self) -> StoreResult<BTreeMap<String, i64>>;
    /// The status line of the day, if one was generated.
    async fn status_line(&self) -> StoreResult<Option<String>>;
}

/// Replies and proactive posts in one channel.
#[async_trait]
pub trait ConversationStore: PersonaReads {
    /// One read: transcript (including messages not yet written), the member's profile,
    /// persona and mood.
    async fn reply_inputs(
        &self,
        channel: ChannelId,
        member: ServerMember,
        since: DateTime<Utc>,
        max_messages: u64,
    ) -> StoreResult<ReplyInputs>;
    async fn recent_messages(
        &self,
        channel: ChannelId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<LoggedMessage>>;
    async fn relationship(&self, member: ServerMember) -> StoreResult<Relationship>;
    /// Logs a message (buffered; never waits for the database).
    async fn append_message(&self, message: LoggedMessage);
    async fn save_relationship(
        &self,
        member: ServerMember,
        relationship: Relationship,
        changes: Vec<RelationshipChange>,
    );
    async fn record_proactive_post(
        &self,
        channel: ChannelId,
        message: Option<MessageId>,
        kind: ProactiveKind,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// The proactive scheduler's view: where it may speak and how lively each channel is.
#[async_trait]
pub trait ProactiveStore: Send + Sync {
    async fn proactive_channels(&self) -> StoreResult<Vec<ChannelId>>;
    async fn last_message(&self, channel: ChannelId) -> StoreResult<Option<LoggedMessage>>;
    async fn proactive_posts_since(
        &self,
        channel: ChannelId,
        since: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

/// The day's mood and status line.
#[async_trait]
pub trait DailyStore: PersonaReads {
    async fn state_value(&self, key: String) -> StoreResult<Option<i64>>;
    /// Writes the day's mood values and marks the day rolled, atomically.
    /// False (and nothing written) when the day was already rolled, here or elsewhere.
    async fn roll_mood(
        &self,
        values: Vec<(String, i64)>,
        day: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// `day` Some: the day's generated status, marking the day's status done (`None`: a
    /// starter line, which does not).
    async fn set_status_line(
        &self,
        text: String,
        day: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Leases on work that must happen once when several processes share the database
/// (`steps::leases`). A lease is held by one holder until released or expired.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes `name` for `holder` until `until` if it is free, expired or already theirs
    /// (then it is renewed); true when `holder` holds it now.
    async fn acquire_lease(
        &self,
        name: String,
        holder: String,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Gives the lease up if `holder` holds it; true when it did.
    async fn release_lease(&self, name: String, holder: String) -> StoreResult<bool>;
}

/// The nightly consolidation.
#[async_trait]
pub trait ConsolidationStore: Send + Sync {
    /// The unfinished run of `scope` (a shard range's key) and its cutoff, if a run was
    /// interrupted.
    async fn unfinished_run(&self, scope: String) -> StoreResult<Option<(i64, DateTime<Utc>)>>;
    async fn start_run(
        &self,
        scope: String,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn finish_run(&self, run_id: i64, now: DateTime<Utc>, stats: RunStats)
    -> StoreResult<()>;
    /// Members with short-term messages older than the cutoff, per server.
    async fn short_term_authors_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> StoreResult<Vec<ServerMember>>;
    async fn short_term_of_member_before(
        &self,
        member: ServerMember,
        cutoff: DateTime<Utc>,
    ) -> StoreResult<Vec<LoggedMessage>>;
    /// Who must not be remembered: members who turned memory off, servers that did.
    async fn memory_switches(&self) -> StoreResult<MemorySwitches>;
    /// The member's current facts in that server; embeddings only if made by
    /// `embedding_model`.
    async fn current_facts(
        &self,
        member: ServerMember,
        embedding_model: Option<String>,
    ) -> StoreResult<Vec<MemoryFact>>;
    /// Commits one group; returns how many messages were archived.
    async fn commit_consolidation(&self, commit: ConsolidationCommit) -> StoreResult<u64>;
    /// Archives the bots' short-term messages older than the cutoff; returns the count.
    async fn archive_bot_messages(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    async fn purge_archived_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Lifting temporary bans.
#[async_trait]
pub trait BanStore: Send + Sync {
    /// Due, not lifted, not given up and not backing off.
    async fn due_temporary_bans(&self, now: DateTime<Utc>) -> StoreResult<Vec<ModCase>>;
    /// Marks the case lifted and records the unban; returns the new case.
    async fn lift_temporary_ban(
        &self,
        case_id: i64,
        guild: crate::domain::GuildId,
        target: UserId,
        lifted_by: UserId,
    ) -> StoreResult<ModCase>;
    /// Stores how lifting these cases went (failures, next try, given up).
    async fn set_lift_state(&self, case_ids: Vec<i64>, state: LiftState) -> StoreResult<()>;
    /// The server's log channel, if one is set.
    async fn log_channel(&self, guild: crate::domain::GuildId) -> StoreResult<Option<ChannelId>>;
    /// Writes a case that could not be written when it happened (with its lifting, if the
    /// ban was lifted meanwhile: then `lifted_by` is recorded as lifting it).
    async fn record_pending(&self, case: PendingCase, lifted_by: UserId) -> StoreResult<ModCase>;
}

/// Today's token spend per scope: the budget gate in front of every model call.
#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Spend on `day` of each scope that spent anything.
    async fn spend_on(
        &self,
        day: String,
        scopes: Vec<SpendScope>,
    ) -> StoreResult<Vec<(SpendScope, ScopeSpend)>>;
    /// Records one call's usage for each scope without waiting for the database: queued
    /// on the write lane, which retries it until the database takes it.
    async fn record_spend(&self, day: String, scopes: Vec<SpendScope>, usage: TokenUsage);
    /// True for the one caller that gets to announce the scope's spent budget.
    async fn claim_spend_notice(&self, day: String, scope: SpendScope) -> StoreResult<bool>;
    /// Deletes the rows of days before `day`; returns how many.
    async fn purge_spend_before(&self, day: String) -> StoreResult<u64>;
}
