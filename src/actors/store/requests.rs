//! Every store operation the bot uses, as one typed request each.
//!
//! `store_requests!` keeps the three places an operation appears (its `StoreRequest`
//! variant, how it runs, and its `StoreHandle` method) in one line, so a variant and its
//! reply type cannot drift apart: the reply port of each variant carries that operation's
//! own result type, checked by the compiler.
//!
//! Access decides where a request runs:
//! - `Read`: at once, concurrently, on the read pool (settings, persona, facts...).
//! - `Synced`: on the read pool, once every write queued before it is applied (reads of
//!   the chat log that must see every message logged before them).
//! - `Write`: in the write lane, in order with every other write.

use super::StoreMsg;
use super::handle::StoreHandle;
use crate::domain::budget::TokenUsage;
use crate::domain::lifting::LiftState;
use crate::domain::mood::STATUS_KEY;
use crate::domain::spend::{ScopeSpend, SpendScope};
use crate::domain::{
    ChannelId, ChannelPolicy, DeletionReport, GuildId, KnownName, LoggedMessage, MemberSummary,
    MemoryFact, MessageId, MessageStamp, Metric, ModAction, ModCase, MoodPoint, Persona,
    PersonaEntry, PersonaKind, ProactiveKind, Relationship, RelationshipChange, RelationshipEvent,
    RunStats, RunSummary, ServerMember, ServerSwitches, StateEntry, StateScope, Ticket, UserExport,
    UserId,
};
use crate::ports::store::{ConsolidationCommit, MemorySwitches, StoreResult};
use crate::store::Store;
use chrono::{DateTime, Utc};
use ractor::RpcReplyPort;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Synced,
    Write,
}

macro_rules! store_requests {
    ($(
        $(#[doc = $doc:literal])*
        $access:ident $Variant:ident fn $method:ident($($arg:ident: $ty:ty),* $(,)?) -> $out:ty
            = |$s:ident, $now:ident| $body:expr;
    )*) => {
        /// A typed request to the StoreActor; the reply port carries the operation's result.
        pub enum StoreRequest {
            $(
                $(#[doc = $doc])*
                $Variant { $($arg: $ty,)* reply: RpcReplyPort<StoreResult<$out>> },
            )*
        }

        impl StoreRequest {
            pub fn access(&self) -> Access {
                match self {
                    $( Self::$Variant { .. } => Access::$access, )*
                }
            }

            /// Runs the operation and sends its result to the caller.
            pub async fn run(self, store: Store) {
                match self {
                    $(
                        Self::$Variant { $($arg,)* reply } => {
                            let $s = &store;
                            let $now = Utc::now();
                            let result: StoreResult<$out> = $body;
                            let _ = reply.send(result);
                        }
                    )*
                }
            }
        }

        impl StoreHandle {
            /// Sends one typed request and waits for its result.
            async fn request<T: Send + 'static>(
                &self,
                build: impl FnOnce(RpcReplyPort<StoreResult<T>>) -> StoreRequest,
            ) -> StoreResult<T> {
                self.call(|reply| StoreMsg::Request(build(reply))).await
            }

            $(
                $(#[doc = $doc])*
                pub async fn $method(&self, $($arg: $ty),*) -> StoreResult<$out> {
                    self.request(|reply| StoreRequest::$Variant { $($arg,)* reply }).await
                }
            )*
        }
    };
}

store_requests! {
    // Persona, mood and state. A persona layer is `None` for the base (bot owners) or a
    // server's; every write finds only entries of the layer it names.
    Read Persona fn persona(guild: Option<GuildId>) -> Persona = |s, _now| s.persona(guild).await;
    Read PersonaEntries fn persona_entries(layer: Option<GuildId>) -> Vec<PersonaEntry> =
        |s, _now| s.layer_entries(layer).await;
    Read MoodValues fn mood() -> BTreeMap<String, i64> = |s, _now| s.mood().await;
    Read StatusLine fn status_line() -> Option<String> = |s, _now| s.global_text(STATUS_KEY).await;
    Read StateValue fn state_value(key: String) -> Option<i64> = |s, _now| s.global_get(&key).await;
    Read ListState fn list_state(scope: StateScope) -> Vec<StateEntry> = |s, _now| s.list_state(scope).await;
    Read GetState fn state_entry(scope: StateScope, key: String) -> StateEntry = |s, _now| s.state_entry(scope, key).await;
    Write AddPersonaEntry fn add_persona_entry(layer: Option<GuildId>, kind: PersonaKind, content: String, replaces: Option<i64>) -> PersonaEntry =
        |s, now| s.add_persona_entry(layer, kind, &content, replaces, now).await;
    Write EditPersonaEntry fn edit_persona_entry(layer: Option<GuildId>, id: i64, content: String) -> PersonaEntry =
        |s, now| s.edit_persona_entry(layer, id, &content, now).await;
    Write RemovePersonaEntry fn remove_persona_entry(layer: Option<GuildId>, id: i64) -> () =
        |s, _now| s.remove_persona_entry(layer, id).await;
    /// `guild` None: the base name; `name` None: back to the base name (or the setting).
    Write SetPersonaName fn set_persona_name(guild: Option<GuildId>, name: Option<String>) -> () =
        |s, now| s.set_persona_name(guild, name, now).await;
    /// Sets the number, the text, or both; at least one must be given.
    Write SetState fn set_state(scope: StateScope, key: String, value: Option<i64>, text: Option<String>) -> StateEntry =
        |s, now| s.set_state(scope, key, value, text, now).await;
    Write DeleteState fn delete_state(scope: StateScope, key: String) -> bool =
        |s, _now| s.delete_state(scope, key).await;
    /// Writes the day's mood values and marks the day rolled, atomically.
    /// False when the day was already rolled (by this process or another): nothing changes.
    Write RollMood fn roll_mood(values: Vec<(String, i64)>, day: i64, at: DateTime<Utc>) -> bool =
        |s, _now| s.roll_mood(&values, day, at).await;
    /// `day` Some: the day's generated status (marks the day done); None: a starter line.
    Write SetStatusLine fn set_status_line(text: String, day: Option<i64>, at: DateTime<Utc>) -> () =
        |s, _now| s.set_status_line(&text, day, at).await;

    // Members: profile, facts, relationship, all per server.
    Read KnownNames fn known_names(member: ServerMember) -> Vec<KnownName> =
        |s, _now| s.known_names_in(member.user, member.guild).await;
    Read Relationship fn relationship(member: ServerMember) -> Relationship = |s, _now| s.relationship(member).await;
    Read RelationshipEvents fn relationship_events(member: ServerMember, limit: u64) -> Vec<RelationshipEvent> =
        |s, _now| s.relationship_events(member, limit).await;
    Read ListFacts fn facts_of_member(member: ServerMember, include_superseded: bool) -> Vec<MemoryFact> =
        |s, _now| s.facts_of_member(member, include_superseded).await;
    Read CurrentFacts fn current_facts(member: ServerMember, embedding_model: Option<String>) -> Vec<MemoryFact> =
        |s, _now| s.current_facts(member, embedding_model.as_deref()).await;
    Read CountFacts fn count_facts() -> u64 = |s, _now| s.count_facts().await;
    Write AddFact fn add_fact(member: ServerMember, fact: String, category: String) -> MemoryFact =
        |s, now| s.add_fact(member, fact, category, now).await;
    /// `category` None keeps the current one.
    Write EditFact fn edit_fact(member: ServerMember, id: i64, fact: String, category: Option<String>) -> MemoryFact =
        |s, _now| s.edit_own_fact(member, id, fact, category).await;
    Write DeleteFact fn delete_fact(member: ServerMember, id: i64) -> () = |s, _now| s.delete_fact(member, id).await;
    /// The member's own facts in every server (`/memory` in a DM).
    Read UserFacts fn facts_of_user(user: UserId) -> Vec<MemoryFact> = |s, _now| s.facts_of_user(user).await;
    /// A member deletes their own fact, whichever server it is from.
    Write DeleteUserFact fn delete_user_fact(user: UserId, id: i64) -> () = |s, _now| s.delete_user_fact(user, id).await;
    Write DeleteMemberFacts fn delete_member_facts(member: ServerMember) -> u64 =
        |s, _now| s.delete_member_facts(member).await;
    Write SetMetric fn set_metric(member: ServerMember, metric: Metric, value: i64, reason: String) -> RelationshipChange =
        |s, now| s.set_metric_checked(member, metric, value, reason, now).await;
    Write ResetRelationship fn reset_relationship(member: ServerMember, reason: String) -> Vec<RelationshipChange> =
        |s, now| s.reset_relationship(member, reason, now).await;
    Synced ExportUser fn export_user(user: UserId) -> UserExport = |s, _now| s.export_user(user).await;
    /// Everything stored about a member in every server (use `StoreHandle::erase_user`,
    /// which also drops their messages still waiting to be written).
    Write DeleteUserData fn delete_user_rows(user: UserId) -> DeletionReport =
        |s, _now| s.delete_user_data(user).await;
    /// `/memory off` (true) and `/memory on`, for every server.
    Write SetMemoryOff fn set_memory_off(user: UserId, username: String, off: bool) -> () =
        |s, now| s.set_memory_off(user, &username, off, now).await;
    Write SetGuildMemory fn set_guild_memory(guild: GuildId, enabled: bool) -> () =
        |s, now| s.set_guild_memory(guild, enabled, now).await;
    Read Remembers fn remembers(member: ServerMember) -> bool = |s, _now| s.remembers(member).await;
    Read MemorySwitches fn memory_switches() -> MemorySwitches = |s, _now| s.memory_switches().await;

    // Where the bot speaks.
    Read ChannelPolicy fn channel_policy(guild: Option<GuildId>, channel: ChannelId, default: ChannelPolicy) -> ChannelPolicy =
        |s, _now| s.channel_policy(guild, channel, default).await;
    Read ProactiveChannels fn proactive_channels() -> Vec<ChannelId> = |s, _now| s.proactive_channels().await;
    Read ProactivePostsSince fn proactive_posts_since(channel: ChannelId, since: DateTime<Utc>) -> u64 =
        |s, _now| s.proactive_posts_since(channel, since).await;
    Write SetGuildEnabled fn set_guild_enabled(guild: GuildId, enabled: bool) -> () =
        |s, now| s.set_guild_enabled(guild, enabled, now).await;
    Write SetChannelEnabled fn set_channel_enabled(guild: Option<GuildId>, channel: ChannelId, enabled: Option<bool>) -> () =
        |s, now| s.set_channel_enabled(guild, channel, enabled, now).await;
    Write SetChannelProactive fn set_channel_proactive(guild: Option<GuildId>, channel: ChannelId, enabled: bool) -> () =
        |s, now| s.set_channel_proactive(guild, channel, enabled, now).await;
    Write RecordProactivePost fn record_proactive_post(channel: ChannelId, message: Option<MessageId>, kind: ProactiveKind, at: DateTime<Utc>) -> () =
        |s, _now| s.record_proactive_post(channel, message, kind, at).await;

    // The chat log.
    Synced CountMessagesSince fn count_messages_since(guild: Option<GuildId>, since: DateTime<Utc>) -> u64 =
        |s, _now| s.count_messages_since(guild, since).await;

    // Moderation and tickets.
    Read CasesFor fn cases_for(guild: GuildId, target: UserId) -> Vec<ModCase> = |s, _now| s.cases_for(guild, target).await;
    Read DueTemporaryBans fn due_temporary_bans(at: DateTime<Utc>) -> Vec<ModCase> =
        |s, _now| s.due_temporary_bans(at).await;
    /// A new ban or an unban also settles any temporary ban still pending.
    Write RecordCase fn record_case(guild: GuildId, action: ModAction, target: UserId, moderator: UserId, reason: Option<String>, expires_at: Option<DateTime<Utc>>) -> ModCase =
        |s, now| s.record_case(guild, action, target, moderator, reason, expires_at, now).await;
    /// Marks a temporary ban lifted and records the unban.
    Write LiftTemporaryBan fn lift_temporary_ban(case_id: i64, guild: GuildId, target: UserId, lifted_by: UserId) -> ModCase =
        |s, now| s.lift_temporary_ban(case_id, guild, target, lifted_by, now).await;
    /// Failures, backoff or "could not lift" of pending temporary bans.
    Write SetLiftState fn set_lift_state(case_ids: Vec<i64>, state: LiftState) -> () =
        |s, _now| s.set_lift_state(case_ids, state).await;
    Read LogChannel fn log_channel(guild: GuildId) -> Option<ChannelId> = |s, _now| s.log_channel(guild).await;
    /// `None`: no log channel.
    Write SetLogChannel fn set_log_channel(guild: GuildId, channel: Option<ChannelId>) -> () =
        |s, now| s.set_log_channel(guild, channel, now).await;
    Read TicketByThread fn ticket_by_thread(thread: ChannelId) -> Option<Ticket> = |s, _now| s.ticket_by_thread(thread).await;
    Write OpenTicket fn open_ticket(guild: GuildId, thread: ChannelId, opener: UserId, subject: String) -> Ticket =
        |s, now| s.open_ticket(guild, thread, opener, &subject, now).await;
    Write CloseTicket fn close_ticket(thread: ChannelId, closed_by: UserId, transcript: String) -> Ticket =
        |s, now| s.close_ticket(thread, closed_by, &transcript, now).await;

    // Token budgets, per day and scope.
    Read SpendOn fn spend_on(day: String, scopes: Vec<SpendScope>) -> Vec<(SpendScope, ScopeSpend)> =
        |s, _now| s.spend_on(&day, &scopes).await;
    /// Today's spend of the bot and of one server.
    Read ServerSpend fn server_spend(day: String, guild: GuildId) -> (ScopeSpend, ScopeSpend) =
        |s, _now| s.server_spend(&day, guild).await;
    Write AddSpend fn add_spend(day: String, scopes: Vec<SpendScope>, usage: TokenUsage) -> () =
        |s, now| s.add_spend(&day, &scopes, usage, now).await;
    Write ClaimSpendNotice fn claim_spend_notice(day: String, scope: SpendScope) -> bool =
        |s, _now| s.claim_spend_notice(&day, scope).await;
    Write PurgeSpendBefore fn purge_spend_before(day: String) -> u64 =
        |s, _now| s.purge_spend_before(&day).await;

    // The web console's own reads (its writes are the requests above).
    Read KnownServers fn known_servers() -> Vec<GuildId> = |s, _now| s.known_servers().await;
    Read ServerMembers fn server_members(guild: GuildId, search: String) -> Vec<MemberSummary> =
        |s, _now| s.server_members(guild, &search).await;
    /// A server's own switches and its channels' (the console's settings page).
    Read ServerSwitches fn server_switches(guild: GuildId) -> ServerSwitches = |s, _now| s.server_switches(guild).await;
    Read LastRun fn last_run() -> Option<RunSummary> = |s, _now| s.last_run().await;
    /// Each day's mood since `since_day` (days from the common era).
    Read MoodHistory fn mood_history(since_day: i64) -> Vec<MoodPoint> = |s, _now| s.mood_history(since_day).await;
    Synced MessageStamps fn message_stamps(guild: Option<GuildId>, since: DateTime<Utc>) -> Vec<MessageStamp> =
        |s, _now| s.message_stamps(guild, since).await;

    // Nightly consolidation.
    /// The unfinished run of `scope` (a shard range's key, `all` for one process).
    Read UnfinishedRun fn unfinished_run(scope: String) -> Option<(i64, DateTime<Utc>)> = |s, _now| s.unfinished_run_in(&scope).await;
    Write StartRun fn start_run(scope: String, cutoff: DateTime<Utc>, at: DateTime<Utc>) -> i64 = |s, _now| s.start_run_in(&scope, cutoff, at).await;
    Write FinishRun fn finish_run(run_id: i64, at: DateTime<Utc>, stats: RunStats) -> () =
        |s, _now| s.finish_run(run_id, at, stats).await;
    Synced ShortTermAuthorsBefore fn short_term_authors_before(cutoff: DateTime<Utc>) -> Vec<ServerMember> =
        |s, _now| s.short_term_authors_before(cutoff).await;
    Synced ShortTermOfMemberBefore fn short_term_of_member_before(member: ServerMember, cutoff: DateTime<Utc>) -> Vec<LoggedMessage> =
        |s, _now| s.short_term_of_member_before(member, cutoff).await;
    /// Commits one group all or nothing; returns how many messages were archived.
    Write CommitConsolidation fn commit_consolidation(commit: ConsolidationCommit) -> u64 =
        |s, _now| s.commit_consolidation(commit).await;
    Write ArchiveBotMessages fn archive_bot_messages(cutoff: DateTime<Utc>, at: DateTime<Utc>) -> u64 =
        |s, _now| s.archive_bot_messages(cutoff, at).await;
    Write PurgeArchivedBefore fn purge_archived_before(before: DateTime<Utc>) -> u64 =
        |s, _now| s.purge_archived_before(before).await;

    // Leases on once-only work across processes. `Read` access: they run at once (on the
    // writer connection, see `Store::acquire_lease`), never queued behind a long write in
    // the lane, so a renewal is not late because a group commit is running.
    /// Takes or renews `name` for `holder` until `until`; true when `holder` holds it.
    Read AcquireLease fn acquire_lease(name: String, holder: String, until: DateTime<Utc>) -> bool =
        |s, now| s.acquire_lease(&name, &holder, until, now).await;
    Read ReleaseLease fn release_lease(name: String, holder: String) -> bool =
        |s, _now| s.release_lease(&name, &holder).await;
}
