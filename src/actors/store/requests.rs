//! The StoreActor's one message enum, `StoreMsg`, made from the port tables in
//! `ports::store_ops`: per entry a variant whose reply port carries the operation's own
//! result type, the `StoreHandle` method that sends it, the port's method on the handle, and
//! how it runs (its body, on the connection its access kind allows).

use super::handle::StoreHandle;
use super::journal::Journal;
use super::transcript;
use super::unwritten_spend;
use crate::domain::budget::TokenUsage;
use crate::domain::lifting::{LiftState, PendingCase};
use crate::domain::mood::STATUS_KEY;
use crate::domain::spend::{ScopeSpend, SpendScope};
use crate::domain::{
    ChannelId, ChannelPolicy, DeletionReport, GuildId, KnownName, LoggedMessage, MemberSummary,
    MemoryFact, MessageId, MessageStamp, Metric, ModAction, ModCase, MoodPoint, Persona,
    PersonaEntry, PersonaKind, ProactiveKind, Relationship, RelationshipChange, RelationshipEvent,
    RunStats, RunSummary, ServerMember, ServerSwitches, StateEntry, StateScope, Ticket, UserExport,
    UserId,
};
use crate::ports::store::{
    AdminStore, BanStore, BudgetStore, ChatLogStore, ConsoleStore, ConsolidationCommit,
    ConsolidationStore, ConversationStore, DailyStore, LeaseStore, MemberSighting, MemberStore,
    MemorySwitches, PersonaReads, ProactiveStore, ReplyInputs, StoreResult,
};
use crate::ports::store_ops::store_ports;
use crate::store::{
    Connection, Store, admin, archive, console, consolidation, export, facts, global_state, leases,
    messages, modlog, persona, proactive, relationships, settings, tickets, usage, users,
};
use chrono::{DateTime, Utc};
use ractor::RpcReplyPort;
use std::collections::BTreeMap;

/// Where and when a request runs; the table's entry names it (see `ports::store_ops`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A read, at once, concurrently, on the read pool.
    Concurrent,
    /// A read of the chat log at once, merged with the journal's unwritten messages.
    MergesJournal,
    /// A read on the read pool once every write queued before it is applied.
    AfterPendingWrites,
    /// A write in the write lane, in order with every other; the caller waits for it.
    InOrder,
    /// A write in the write lane, in order, that nobody waits for (failures are logged).
    Cast,
    /// A write at once on the writer connection, never queued behind the lane.
    ImmediateWrite,
}

impl Access {
    /// Whether the request only reads (and runs on the read pool).
    pub fn reads_only(self) -> bool {
        matches!(
            self,
            Access::Concurrent | Access::MergesJournal | Access::AfterPendingWrites
        )
    }
}

/// What an entry's body runs with.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The read pool for a read kind, the writer connection for a write.
    pub db: &'a Connection,
    /// When the request runs.
    pub now: DateTime<Utc>,
    /// The chat messages and deletions not yet written.
    pub journal: &'a Journal,
    /// The embedding model facts are stamped with and read back by.
    pub model: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, journal: &'a Journal, access: Access) -> Self {
        Ctx {
            db: if access.reads_only() {
                store.reader()
            } else {
                store.writer()
            },
            now: Utc::now(),
            journal,
            model: store.embedding_model(),
        }
    }
}

/// Sends a result to the caller, or logs a failure nobody waits for.
fn answer<T>(
    reply: Option<RpcReplyPort<StoreResult<T>>>,
    op: &'static str,
    result: StoreResult<T>,
) {
    match (reply, result) {
        (Some(reply), result) => {
            let _ = reply.send(result);
        }
        (None, Err(error)) => tracing::warn!(%error, op, "a store write nobody waits for failed"),
        (None, Ok(_)) => {}
    }
}

/// Runs an entry's body. A `Cast` is retried while the database is unavailable (locked,
/// unreachable), as the journal's messages are: nobody waits for it, so nobody else would
/// try again, and a write cast while the database is locked lands once it is back. The
/// lane waits meanwhile, as it would for the journal.
macro_rules! run_entry {
    (Cast, $ctx:ident, |$cx:ident| $body:expr) => {{
        let mut backoff = std::time::Duration::from_millis(50);
        loop {
            let $cx = $ctx;
            match $body {
                Err(error) if error.is_transient() => {
                    tracing::warn!(%error, retry_in = ?backoff, "database unavailable; a write waits until it is back");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                }
                done => break done,
            }
        }
    }};
    ($kind:ident, $ctx:ident, |$cx:ident| $body:expr) => {{
        let $cx = $ctx;
        $body
    }};
}

/// The handle's method of one entry: a `Cast` returns at once, the others wait.
macro_rules! handle_method {
    (Cast, $Variant:ident, $m:ident, ($($arg:ident: $ty:ty),*), $out:ty, [$($doc:tt)*]) => {
        $($doc)*
        pub async fn $m(&self, $($arg: $ty),*) {
            self.cast(StoreMsg::$Variant { $($arg,)* reply: None }).await;
        }
    };
    ($kind:ident, $Variant:ident, $m:ident, ($($arg:ident: $ty:ty),*), $out:ty, [$($doc:tt)*]) => {
        $($doc)*
        pub async fn $m(&self, $($arg: $ty),*) -> StoreResult<$out> {
            self.call(|reply| StoreMsg::$Variant { $($arg,)* reply: Some(reply) }).await
        }
    };
}

/// In tests: runs an entry of a read kind with sample arguments on `$cx`'s connection.
#[cfg(test)]
macro_rules! probe {
    (@read $found:ident, $ctx:ident, $m:ident, ($($arg:ident: $ty:ty),*), $out:ty, |$cx:ident| $body:expr) => {{
        $(let $arg: $ty = super::read_only_tests::Sample::sample();)*
        let $cx = $ctx;
        let result: StoreResult<$out> = $body;
        $found.push((stringify!($m), result.map(drop)));
    }};
    (Concurrent, $($rest:tt)*) => { probe!(@read $($rest)*) };
    (MergesJournal, $($rest:tt)*) => { probe!(@read $($rest)*) };
    (AfterPendingWrites, $($rest:tt)*) => { probe!(@read $($rest)*) };
    ($write:ident, $($rest:tt)*) => {};
}

macro_rules! store_requests {
    ($(
        $(#[doc = $pdoc:literal])*
        port $Port:ident ($($bound:tt)+) {
            $(
                $(#[doc = $doc:literal])*
                $kind:ident $Variant:ident fn $m:ident($($arg:ident: $ty:ty),* $(,)?) -> $out:ty
                    = |$cx:ident| $body:expr;
            )*
        } forwards {
            $( $(#[doc = $fdoc:literal])* fn $f:ident($($farg:ident: $fty:ty),* $(,)?) -> $fret:ty; )*
        }
    )*) => {
        /// A typed request to the StoreActor; the reply port carries the operation's result
        /// (`None`: a cast, nobody waits).
        pub enum StoreMsg {
            $($(
                $(#[doc = $doc])*
                $Variant { $($arg: $ty,)* reply: Option<RpcReplyPort<StoreResult<$out>>> },
            )*)*
        }

        impl StoreMsg {
            pub fn access(&self) -> Access {
                match self {
                    $($( Self::$Variant { .. } => Access::$kind, )*)*
                }
            }

            /// Runs the operation and answers the caller.
            pub async fn run(self, cx: Ctx<'_>) {
                match self {
                    $($(
                        Self::$Variant { $($arg,)* reply } => {
                            let result: StoreResult<$out> = run_entry!($kind, cx, |$cx| $body);
                            answer(reply, stringify!($m), result);
                        }
                    )*)*
                }
            }

            /// Every read-kind entry, run with sample arguments on `cx` (a test opens it
            /// read-only): (method, result).
            #[cfg(test)]
            pub(super) async fn probe_reads(cx: Ctx<'_>) -> Vec<(&'static str, StoreResult<()>)> {
                let mut found = Vec::new();
                $($(
                    probe!($kind, found, cx, $m, ($($arg: $ty),*), $out, |$cx| $body);
                )*)*
                found
            }
        }

        impl StoreHandle {
            $($(
                handle_method!($kind, $Variant, $m, ($($arg: $ty),*), $out, [$(#[doc = $doc])*]);
            )*)*
        }

        $(
            #[async_trait::async_trait]
            impl $Port for StoreHandle {
                $(
                    async fn $m(&self, $($arg: $ty),*) -> crate::ports::store_ops::answer!($kind, $out) {
                        StoreHandle::$m(self, $($arg),*).await
                    }
                )*
                $(
                    async fn $f(&self, $($farg: $fty),*) -> $fret {
                        StoreHandle::$f(self, $($farg),*).await
                    }
                )*
            }
        )*
    };
}

store_ports!(store_requests);
