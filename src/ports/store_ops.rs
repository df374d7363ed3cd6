//! Every store operation, one table per port: the single place an operation is declared.
//!
//! Why a table: an operation used to be written five times (the query, a `Store` wrapper,
//! a request line, the port's method, the handle's forwarding impl) and the copies drifted.
//! `store_ports!` hands this table to a generator: `port_traits!` (below, in `ports`) makes
//! each port's trait from it; `actors::store`'s generator makes, from the same entries, the
//! StoreActor's message variant, the `StoreHandle` method, the port's impl for the handle,
//! and runs the entry's body, which calls the query in `store/` directly. Ports never see
//! the bodies (their generator drops them); the paths in them resolve in `actors::store`.
//!
//! An entry: `Access Variant fn method(args) -> Answer = |cx| body;` where the body gets
//! `cx` (the connection its access kind allows, the clock, the journal, the embedding
//! model). `forwards` lists port methods the handle implements by hand (they are more than
//! one request). Access kinds (`actors::store::Access`):
//! - `Concurrent`: a read, at once, on the read pool.
//! - `MergesJournal`: a read of the chat log at once, merged with messages not yet written.
//! - `AfterPendingWrites`: a read, once every write queued before it is applied.
//! - `InOrder`: a write in the write lane, in order with every other; the caller waits.
//! - `Cast`: the same, but nobody waits: failures are logged (chat edits, sightings).
//! - `ImmediateWrite`: a write at once on the writer connection, never queued behind the
//!   lane (leases: a renewal must not be late because a long group commit is running).
//!
//! A read kind runs on a read-only connection in a test (`actors::store::read_only_tests`),
//! so an entry that writes cannot be marked as a read.

/// The answer of a port method of that access kind: a `Cast` answers nothing. (`StoreResult`
/// resolves where the port is generated.)
macro_rules! answer {
    (Cast, $out:ty) => { () };
    ($kind:ident, $out:ty) => { StoreResult<$out> };
}
pub(crate) use answer;

/// Makes each port's trait from the table.
macro_rules! port_traits {
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
        $(
            $(#[doc = $pdoc])*
            #[async_trait::async_trait]
            pub trait $Port: $($bound)+ {
                $(
                    $(#[doc = $doc])*
                    async fn $m(&self, $($arg: $ty),*) -> $crate::ports::store_ops::answer!($kind, $out);
                )*
                $( $(#[doc = $fdoc])* async fn $f(&self, $($farg: $fty),*) -> $fret; )*
            }
        )*
    };
}
pub(crate) use port_traits;

/// The table; `$generate` is the generator it is handed to.
macro_rules! store_ports {
    ($generate:ident) => {
        $generate! {
            /// What the persona speaks from: read by replies, proactive posts and the daily
            /// status.
            port PersonaReads (Send + Sync) {
                /// The persona as `guild` sees it (base and that server's layer); `None`:
                /// the base.
                Concurrent Persona fn persona(guild: Option<GuildId>) -> Persona =
                    |cx| persona::persona(cx.db, guild).await;
                Concurrent MoodValues fn mood() -> BTreeMap<String, i64> =
                    |cx| global_state::mood(cx.db).await;
                /// The status line of the day, if one was generated.
                Concurrent StatusLine fn status_line() -> Option<String> =
                    |cx| global_state::global_text(cx.db, StateScope::BotWide, STATUS_KEY).await;
            } forwards {}

            /// Replies and proactive posts in one channel.
            port ConversationStore (PersonaReads) {
                /// One read: transcript (including messages not yet written), the member's
                /// profile, persona and mood.
                MergesJournal ReplyInputs fn reply_inputs(channel: ChannelId, member: ServerMember, since: DateTime<Utc>, max_messages: u64) -> ReplyInputs =
                    |cx| transcript::reply_inputs(cx, channel, member, since, max_messages).await;
                MergesJournal RecentMessages fn recent_messages(channel: ChannelId, since: DateTime<Utc>, limit: u64) -> Vec<LoggedMessage> =
                    |cx| transcript::recent_messages(cx, channel, since, limit).await;
                Concurrent Relationship fn relationship(member: ServerMember) -> Relationship =
                    |cx| relationships::relationship(cx.db, member).await;
                Cast SaveRelationship fn save_relationship(member: ServerMember, relationship: Relationship, changes: Vec<RelationshipChange>) -> () =
                    |cx| relationships::save_relationship(cx.db, member, relationship, &changes, cx.now).await;
                InOrder RecordProactivePost fn record_proactive_post(channel: ChannelId, message: Option<MessageId>, kind: ProactiveKind, at: DateTime<Utc>) -> () =
                    |cx| proactive::record_proactive_post(cx.db, channel, message, kind, at).await;
            } forwards {
                /// Logs a message (buffered; never waits for the database).
                fn append_message(message: LoggedMessage) -> ();
            }

            /// The proactive scheduler's view: where it may speak and how lively each
            /// channel is.
            port ProactiveStore (Send + Sync) {
                Concurrent ProactiveChannels fn proactive_channels() -> Vec<ChannelId> =
                    |cx| settings::proactive_channels(cx.db).await;
                MergesJournal LastMessage fn last_message(channel: ChannelId) -> Option<LoggedMessage> =
                    |cx| transcript::last_message(cx, channel).await;
                Concurrent ProactivePostsSince fn proactive_posts_since(channel: ChannelId, since: DateTime<Utc>) -> u64 =
                    |cx| proactive::proactive_posts_since(cx.db, channel, since).await;
            } forwards {}

            /// The day's mood and status line.
            port DailyStore (PersonaReads) {
                Concurrent StateValue fn state_value(key: String) -> Option<i64> =
                    |cx| global_state::global_get(cx.db, StateScope::BotWide, &key).await;
                /// Writes the day's mood values and marks the day rolled, atomically.
                /// False (and nothing written) when the day was already rolled, here or
                /// elsewhere.
                InOrder RollMood fn roll_mood(values: Vec<(String, i64)>, day: i64, at: DateTime<Utc>) -> bool =
                    |cx| global_state::roll_mood(cx.db, &values, day, at).await;
                /// `day` Some: the day's generated status, marking the day's status done
                /// (`None`: a starter line, which does not).
                InOrder SetStatusLine fn set_status_line(text: String, day: Option<i64>, at: DateTime<Utc>) -> () =
                    |cx| global_state::set_status_line(cx.db, &text, day, at).await;
            } forwards {}

            /// Leases on work that must happen once when several processes share the
            /// database (`steps::leases`). A lease is held by one holder until released or
            /// expired.
            port LeaseStore (Send + Sync) {
                /// Takes `name` for `holder` until `until` if it is free, expired or already
                /// theirs (then it is renewed); true when `holder` holds it now.
                ImmediateWrite AcquireLease fn acquire_lease(name: String, holder: String, until: DateTime<Utc>) -> bool =
                    |cx| leases::acquire(cx.db, &name, &holder, until, cx.now).await;
                /// Gives the lease up if `holder` holds it; true when it did.
                ImmediateWrite ReleaseLease fn release_lease(name: String, holder: String) -> bool =
                    |cx| leases::release(cx.db, &name, &holder).await;
            } forwards {}

            /// The nightly consolidation.
            port ConsolidationStore (Send + Sync) {
                /// The unfinished run of `scope` (a shard range's key, `all` for one
                /// process) and its cutoff, if a run was interrupted.
                Concurrent UnfinishedRun fn unfinished_run(scope: String) -> Option<(i64, DateTime<Utc>)> =
                    |cx| consolidation::unfinished_run(cx.db, &scope).await;
                InOrder StartRun fn start_run(scope: String, cutoff: DateTime<Utc>, at: DateTime<Utc>) -> i64 =
                    |cx| consolidation::start_run(cx.db, &scope, cutoff, at).await;
                InOrder FinishRun fn finish_run(run_id: i64, at: DateTime<Utc>, stats: RunStats) -> () =
                    |cx| consolidation::finish_run(cx.db, run_id, at, stats).await;
                /// Members with short-term messages older than the cutoff, per server.
                AfterPendingWrites ShortTermAuthorsBefore fn short_term_authors_before(cutoff: DateTime<Utc>) -> Vec<ServerMember> =
                    |cx| messages::short_term_authors_before(cx.db, cutoff).await;
                AfterPendingWrites ShortTermOfMemberBefore fn short_term_of_member_before(member: ServerMember, cutoff: DateTime<Utc>) -> Vec<LoggedMessage> =
                    |cx| messages::short_term_of_member_before(cx.db, member, cutoff).await;
                /// Who must not be remembered: members who turned memory off, servers that
                /// did.
                Concurrent MemorySwitches fn memory_switches() -> MemorySwitches =
                    |cx| users::memory_switches(cx.db).await;
                /// The member's current facts in that server; embeddings only if made by
                /// `embedding_model`.
                Concurrent CurrentFacts fn current_facts(member: ServerMember, embedding_model: Option<String>) -> Vec<MemoryFact> =
                    |cx| facts::facts_of_member(cx.db, member, false, embedding_model.as_deref()).await;
                /// Commits one group all or nothing; returns how many messages were archived.
                InOrder CommitConsolidation fn commit_consolidation(commit: ConsolidationCommit) -> u64 =
                    |cx| consolidation::commit(cx.db, commit).await;
                /// Archives the bots' short-term messages older than the cutoff; returns the
                /// count.
                InOrder ArchiveBotMessages fn archive_bot_messages(cutoff: DateTime<Utc>, at: DateTime<Utc>) -> u64 =
                    |cx| consolidation::archive_bot_messages(cx.db, cutoff, at).await;
                InOrder PurgeArchivedBefore fn purge_archived_before(before: DateTime<Utc>) -> u64 =
                    |cx| archive::purge_archived_before(cx.db, before).await;
            } forwards {}

            /// Lifting temporary bans.
            port BanStore (Send + Sync) {
                /// Due, not lifted, not given up and not backing off.
                Concurrent DueTemporaryBans fn due_temporary_bans(at: DateTime<Utc>) -> Vec<ModCase> =
                    |cx| modlog::due_temporary_bans(cx.db, at).await;
                /// Marks the case lifted and records the unban; returns the new case.
                InOrder LiftTemporaryBan fn lift_temporary_ban(case_id: i64, guild: GuildId, target: UserId, lifted_by: UserId) -> ModCase =
                    |cx| admin::lift_temporary_ban(cx.db, case_id, guild, target, lifted_by, cx.now).await;
                /// Stores how lifting these cases went (failures, next try, given up).
                InOrder SetLiftState fn set_lift_state(case_ids: Vec<i64>, state: LiftState) -> () =
                    |cx| modlog::set_lift_state(cx.db, &case_ids, state).await;
                /// The server's log channel, if one is set.
                Concurrent LogChannel fn log_channel(guild: GuildId) -> Option<ChannelId> =
                    |cx| modlog::log_channel(cx.db, guild).await;
            } forwards {
                /// Writes a case that could not be written when it happened (with its
                /// lifting, if the ban was lifted meanwhile: then `lifted_by` is recorded as
                /// lifting it).
                fn record_pending(case: PendingCase, lifted_by: UserId) -> StoreResult<ModCase>;
            }

            /// Today's token spend per scope: the budget gate in front of every model call.
            port BudgetStore (Send + Sync) {
                /// Spend on `day` of each scope that spent anything, as written (the
                /// handle's `spend_on` adds what is not written yet).
                Concurrent StoredSpendOn fn stored_spend_on(day: String, scopes: Vec<SpendScope>) -> Vec<(SpendScope, ScopeSpend)> =
                    |cx| usage::spend_on(cx.db, &day, &scopes).await;
                /// Writes one call's usage (`ticket`: its entry in the unwritten spend,
                /// dropped once written). Use `record_spend`, which takes the ticket.
                Cast WriteSpend fn write_spend(ticket: u64, day: String, scopes: Vec<SpendScope>, usage: TokenUsage) -> () =
                    |cx| unwritten_spend::write(cx, ticket, &day, &scopes, usage).await;
                /// True for the one caller that gets to announce the scope's spent budget.
                InOrder ClaimSpendNotice fn claim_spend_notice(day: String, scope: SpendScope) -> bool =
                    |cx| usage::claim_notice(cx.db, &day, scope).await;
                /// Deletes the rows of days before `day`; returns how many.
                InOrder PurgeSpendBefore fn purge_spend_before(day: String) -> u64 =
                    |cx| usage::purge_spend_before(cx.db, &day).await;
            } forwards {
                /// Spend on `day` of each scope that spent anything, written or not.
                fn spend_on(day: String, scopes: Vec<SpendScope>) -> StoreResult<Vec<(SpendScope, ScopeSpend)>>;
                /// Records one call's usage for each scope without waiting for the
                /// database: a cast to the write lane, which retries it until the database
                /// takes it; until then spend reads add it.
                fn record_spend(day: String, scopes: Vec<SpendScope>, usage: TokenUsage) -> ();
            }

            /// What chat events write besides the messages themselves.
            port ChatLogStore (Send + Sync) {
                Cast EditMessage fn edit_message(id: MessageId, content: String, edited_at: DateTime<Utc>) -> () =
                    |cx| messages::edit_message(cx.db, id, &content, edited_at).await.map(drop);
                /// Writes a sighting now (`StoreHandle::seen_member` skips repeats first).
                Cast RecordSighting fn record_sighting(sighting: MemberSighting) -> () =
                    |cx| users::record_sighting(cx.db, &sighting).await;
                /// Answers once every message and write accepted before it is in the
                /// database.
                AfterPendingWrites Flush fn flush() -> () = |_cx| Ok(());
            } forwards {
                /// Keeps the users table and nickname history current.
                fn seen_member(sighting: MemberSighting) -> ();
            }

            /// The slash commands' and the console's administration: persona layers,
            /// state, where the bot speaks, moderation and tickets. A persona layer is
            /// `None` for the base (bot owners) or a server's; every write finds only
            /// entries of the layer it names.
            port AdminStore (Send + Sync) {
                Concurrent PersonaEntries fn persona_entries(layer: Option<GuildId>) -> Vec<PersonaEntry> =
                    |cx| persona::layer_entries(cx.db, layer).await;
                InOrder AddPersonaEntry fn add_persona_entry(layer: Option<GuildId>, kind: PersonaKind, content: String, replaces: Option<i64>) -> PersonaEntry =
                    |cx| persona::add_persona_entry(cx.db, layer, kind, &content, replaces, cx.now).await;
                InOrder EditPersonaEntry fn edit_persona_entry(layer: Option<GuildId>, id: i64, content: String) -> PersonaEntry =
                    |cx| persona::edit_persona_entry(cx.db, layer, id, &content, cx.now).await;
                InOrder RemovePersonaEntry fn remove_persona_entry(layer: Option<GuildId>, id: i64) -> () =
                    |cx| persona::remove_persona_entry(cx.db, layer, id).await;
                /// `guild` None: the base name; `name` None: back to the base name (or the
                /// setting).
                InOrder SetPersonaName fn set_persona_name(guild: Option<GuildId>, name: Option<String>) -> () =
                    |cx| persona::set_persona_name(cx.db, guild, name, cx.now).await;
                Concurrent ListState fn list_state(scope: StateScope) -> Vec<StateEntry> =
                    |cx| admin::list_state(cx.db, scope).await;
                Concurrent GetState fn state_entry(scope: StateScope, key: String) -> StateEntry =
                    |cx| admin::state_entry(cx.db, scope, key).await;
                /// Sets the number, the text, or both; at least one must be given.
                InOrder SetState fn set_state(scope: StateScope, key: String, value: Option<i64>, text: Option<String>) -> StateEntry =
                    |cx| admin::set_state(cx.db, scope, key, value, text, cx.now).await;
                InOrder DeleteState fn delete_state(scope: StateScope, key: String) -> bool =
                    |cx| global_state::global_delete(cx.db, scope, &key).await;
                Concurrent ChannelPolicy fn channel_policy(guild: Option<GuildId>, channel: ChannelId, default: ChannelPolicy) -> ChannelPolicy =
                    |cx| settings::channel_policy(cx.db, guild, channel, default).await;
                InOrder SetGuildEnabled fn set_guild_enabled(guild: GuildId, enabled: bool) -> () =
                    |cx| settings::set_guild_enabled(cx.db, guild, enabled, cx.now).await;
                InOrder SetChannelEnabled fn set_channel_enabled(guild: Option<GuildId>, channel: ChannelId, enabled: Option<bool>) -> () =
                    |cx| settings::set_channel_enabled(cx.db, guild, channel, enabled, cx.now).await;
                InOrder SetChannelProactive fn set_channel_proactive(guild: Option<GuildId>, channel: ChannelId, enabled: bool) -> () =
                    |cx| settings::set_channel_proactive(cx.db, guild, channel, enabled, cx.now).await;
                Concurrent CasesFor fn cases_for(guild: GuildId, target: UserId) -> Vec<ModCase> =
                    |cx| modlog::cases_for(cx.db, guild, target).await;
                /// A new ban or an unban also settles any temporary ban still pending.
                InOrder RecordCase fn record_case(guild: GuildId, action: ModAction, target: UserId, moderator: UserId, reason: Option<String>, expires_at: Option<DateTime<Utc>>) -> ModCase =
                    |cx| admin::record_case(cx.db, guild, action, target, moderator, reason, expires_at, cx.now).await;
                /// `None`: no log channel.
                InOrder SetLogChannel fn set_log_channel(guild: GuildId, channel: Option<ChannelId>) -> () =
                    |cx| modlog::set_log_channel(cx.db, guild, channel, cx.now).await;
                Concurrent TicketByThread fn ticket_by_thread(thread: ChannelId) -> Option<Ticket> =
                    |cx| tickets::ticket_by_thread(cx.db, thread).await;
                InOrder OpenTicket fn open_ticket(guild: GuildId, thread: ChannelId, opener: UserId, subject: String) -> Ticket =
                    |cx| tickets::open_ticket(cx.db, guild, thread, opener, &subject, cx.now).await;
                InOrder CloseTicket fn close_ticket(thread: ChannelId, closed_by: UserId, transcript: String) -> Ticket =
                    |cx| tickets::close_ticket(cx.db, thread, closed_by, &transcript, cx.now).await;
                /// Today's spend of the bot and of one server.
                Concurrent ServerSpend fn server_spend(day: String, guild: GuildId) -> (ScopeSpend, ScopeSpend) =
                    |cx| usage::server_spend(cx.db, &day, guild).await;
            } forwards {}

            /// Members' data, per server: names, facts, relationship, memory switches, and
            /// their export and erasure.
            port MemberStore (Send + Sync) {
                Concurrent KnownNames fn known_names(member: ServerMember) -> Vec<KnownName> =
                    |cx| users::known_names_in(cx.db, member.user, member.guild).await;
                Concurrent RelationshipEvents fn relationship_events(member: ServerMember, limit: u64) -> Vec<RelationshipEvent> =
                    |cx| relationships::relationship_events(cx.db, member, limit).await;
                Concurrent ListFacts fn facts_of_member(member: ServerMember, include_superseded: bool) -> Vec<MemoryFact> =
                    |cx| facts::facts_of_member(cx.db, member, include_superseded, cx.model).await;
                InOrder AddFact fn add_fact(member: ServerMember, fact: String, category: String) -> MemoryFact =
                    |cx| admin::add_fact(cx.db, member, fact, category, cx.model, cx.now).await;
                /// `category` None keeps the current one.
                InOrder EditFact fn edit_fact(member: ServerMember, id: i64, fact: String, category: Option<String>) -> MemoryFact =
                    |cx| admin::edit_own_fact(cx.db, member, id, fact, category, cx.model).await;
                InOrder DeleteFact fn delete_fact(member: ServerMember, id: i64) -> () =
                    |cx| facts::delete_fact(cx.db, member, id).await;
                /// The member's own facts in every server (`/memory` in a DM).
                Concurrent UserFacts fn facts_of_user(user: UserId) -> Vec<MemoryFact> =
                    |cx| facts::facts_of_user(cx.db, user, cx.model).await;
                /// A member deletes their own fact, whichever server it is from.
                InOrder DeleteUserFact fn delete_user_fact(user: UserId, id: i64) -> () =
                    |cx| facts::delete_user_fact(cx.db, user, id).await;
                InOrder DeleteMemberFacts fn delete_member_facts(member: ServerMember) -> u64 =
                    |cx| facts::delete_member_facts(cx.db, member).await;
                InOrder SetMetric fn set_metric(member: ServerMember, metric: Metric, value: i64, reason: String) -> RelationshipChange =
                    |cx| admin::set_metric_checked(cx.db, member, metric, value, reason, cx.now).await;
                InOrder ResetRelationship fn reset_relationship(member: ServerMember, reason: String) -> Vec<RelationshipChange> =
                    |cx| admin::reset_relationship(cx.db, member, reason, cx.now).await;
                /// One consistent snapshot of everything stored about a member.
                AfterPendingWrites ExportUser fn export_user(user: UserId) -> UserExport =
                    |cx| export::export_snapshot(cx.db, user).await;
                /// Everything stored about a member in every server (use
                /// `StoreHandle::erase_user`, which also drops their messages still waiting
                /// to be written).
                InOrder DeleteUserData fn delete_user_rows(user: UserId) -> DeletionReport =
                    |cx| export::delete_user_data(cx.db, user).await;
                /// `/memory off` (true) and `/memory on`, for every server.
                InOrder SetMemoryOff fn set_memory_off(user: UserId, username: String, off: bool) -> () =
                    |cx| users::set_memory_off(cx.db, user, &username, off, cx.now).await;
                InOrder SetGuildMemory fn set_guild_memory(guild: GuildId, enabled: bool) -> () =
                    |cx| settings::set_guild_memory(cx.db, guild, enabled, cx.now).await;
                Concurrent Remembers fn remembers(member: ServerMember) -> bool =
                    |cx| users::remembers(cx.db, member).await;
            } forwards {
                /// Erases everything stored about a member in every server, including their
                /// messages still waiting to be written.
                fn erase_user(user: UserId) -> StoreResult<DeletionReport>;
            }

            /// The web console's own reads (its writes are the admin and member ports').
            port ConsoleStore (Send + Sync) {
                Concurrent KnownServers fn known_servers() -> Vec<GuildId> =
                    |cx| console::known_servers(cx.db).await;
                Concurrent ServerMembers fn server_members(guild: GuildId, search: String) -> Vec<MemberSummary> =
                    |cx| console::server_members(cx.db, guild, &search).await;
                /// A server's own switches and its channels' (the console's settings page).
                Concurrent ServerSwitches fn server_switches(guild: GuildId) -> ServerSwitches =
                    |cx| console::server_switches(cx.db, guild).await;
                Concurrent LastRun fn last_run() -> Option<RunSummary> =
                    |cx| console::last_run(cx.db).await;
                /// Each day's mood since `since_day` (days from the common era).
                Concurrent MoodHistory fn mood_history(since_day: i64) -> Vec<MoodPoint> =
                    |cx| console::mood_history(cx.db, since_day).await;
                AfterPendingWrites MessageStamps fn message_stamps(guild: Option<GuildId>, since: DateTime<Utc>) -> Vec<MessageStamp> =
                    |cx| console::message_stamps(cx.db, guild, since).await;
                AfterPendingWrites CountMessagesSince fn count_messages_since(guild: Option<GuildId>, since: DateTime<Utc>) -> u64 =
                    |cx| messages::count_messages_since(cx.db, guild, since).await;
                Concurrent CountFacts fn count_facts() -> u64 = |cx| facts::count_facts(cx.db).await;
                /// A server's current facts.
                Concurrent CountFactsIn fn count_facts_in(guild: GuildId) -> u64 =
                    |cx| facts::count_facts_in(cx.db, guild).await;
            } forwards {}
        }
    };
}
pub(crate) use store_ports;
