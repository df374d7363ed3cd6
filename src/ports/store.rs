//! The store port: the database operations each step needs, over domain types, and the one
//! error type they share.
//!
//! The traits are made from the table in [`super::store_ops`], which also makes their impl
//! for `actors::store::StoreHandle` (typed requests to the StoreActor); a step names only
//! the trait it needs, so what a step may touch in the database is written in its signature.

use crate::domain::budget::TokenUsage;
use crate::domain::lifting::{LiftState, PendingCase};
use crate::domain::spend::{ScopeSpend, SpendScope};
use crate::domain::{
    ChannelId, ChannelPolicy, DeletionReport, FactChange, GuildId, KnownName, LoggedMessage,
    MemberSummary, MemoryFact, MessageId, MessageStamp, Metric, ModAction, ModCase, MoodPoint,
    Persona, PersonaEntry, PersonaKind, ProactiveKind, Relationship, RelationshipChange,
    RelationshipError, RelationshipEvent, RunStats, RunSummary, ServerMember, ServerSwitches,
    StateEntry, StateScope, Ticket, UnknownValue, UserExport, UserId,
};
use crate::ports::store_ops::port_traits;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The error under a store failure (the driver's, the actor system's), kept whole for the
/// log and `Error::source`. Shared so `StoreError` stays `Clone` (driver errors are not).
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed, classified where the database error is seen (inside
/// `store/`, from the driver's error kind) so callers decide on retrying without knowing
/// the driver.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable or busy for now (locked, connection reset, pool
    /// timeout): the same operation may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The database refused this operation (a constraint, a statement it rejects): retrying
    /// the same thing fails the same way.
    #[error("database error: {0}")]
    Rejected(#[source] Cause),
    /// The StoreActor is not running or did not answer in time.
    #[error("store not answering: {0}")]
    NotAnswering(#[source] Cause),
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
    Io(#[source] Arc<std::io::Error>),
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
        StoreError::Io(Arc::new(error))
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

crate::ports::store_ops::store_ports!(port_traits);
