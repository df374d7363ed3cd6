//! `StoreHandle`: typed methods over the StoreActor's messages (the per-operation methods
//! are generated beside their requests in `requests.rs`), and the store ports implemented
//! over them.

use super::StoreMsg;
use super::journal::Journal;
use crate::actors::{ActorError, Slot};
use crate::domain::budget::TokenUsage;
use crate::domain::lifting::{LiftState, PendingCase};
use crate::domain::spend::{ScopeSpend, SpendScope};
use crate::domain::{
    ChannelId, DeletionReport, GuildId, LoggedMessage, MessageId, ModCase, Persona, ProactiveKind,
    Relationship, RelationshipChange, RunStats, ServerMember, UserId,
};
use crate::ports::store::{
    BanStore, BudgetStore, ConsolidationCommit, ConsolidationStore, ConversationStore, DailyStore,
    LeaseStore, MemberSighting, MemorySwitches, PersonaReads, ProactiveStore, ReplyInputs,
    StoreError, StoreResult,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ractor::RpcReplyPort;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone)]
pub struct StoreHandle {
    slot: Slot<StoreMsg>,
    /// Chat messages go straight into the journal the StoreActor writes from, so one
    /// accepted while the actor is restarting is still written by the next incarnation.
    journal: Arc<Journal>,
    /// Requests that waited for an answer (round trips), shared by every clone.
    round_trips: Arc<AtomicU64>,
}

impl From<ActorError> for StoreError {
    fn from(error: ActorError) -> Self {
        StoreError::NotAnswering(error.to_string())
    }
}

impl StoreHandle {
    /// A handle on the actor at `slot`, appending to `journal` (the one in its `StoreArgs`).
    pub fn new(slot: Slot<StoreMsg>, journal: Arc<Journal>) -> Self {
        Self {
            slot,
            journal,
            round_trips: Arc::default(),
        }
    }

    pub fn slot(&self) -> &Slot<StoreMsg> {
        &self.slot
    }

    /// Round trips to the store so far (requests that waited for an answer).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    async fn cast(&self, msg: StoreMsg) {
        if let Err(error) = self.slot.cast(msg).await {
            tracing::error!(%error, "store unavailable; a write was dropped");
        }
    }

    pub(super) async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<StoreResult<T>>) -> StoreMsg,
    ) -> StoreResult<T> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.slot.call(build).await?
    }

    /// Logs a chat message: accepted at once (never waits for the database or the actor).
    /// Waits only when the journal is full (the database far behind): then the channel
    /// slows down rather than a message being dropped.
    pub async fn append_message(&self, message: LoggedMessage) {
        self.journal.wait_for_room().await;
        self.journal.push(message);
    }

    pub async fn edit_message(&self, id: MessageId, content: String, edited_at: DateTime<Utc>) {
        self.cast(StoreMsg::EditMessage {
            id,
            content,
            edited_at,
        })
        .await;
    }

    /// Forgets deleted messages: accepted at once like appends (a message still buffered is
    /// never written, and one arriving later is not logged).
    pub async fn delete_messages(&self, ids: &[MessageId]) {
        self.journal.delete(ids);
    }

    /// Whether the message was deleted in the last minutes: one arriving after its deletion
    /// (reordered events, the restart backfill) is neither logged nor answered.
    pub fn was_deleted(&self, id: MessageId) -> bool {
        self.journal.was_deleted(id)
    }

    pub async fn seen_member(&self, sighting: MemberSighting) {
        self.cast(StoreMsg::SeenMember(sighting)).await;
    }

    pub async fn save_relationship(
        &self,
        member: ServerMember,
        relationship: Relationship,
        changes: Vec<RelationshipChange>,
    ) {
        self.cast(StoreMsg::SaveRelationship {
            member,
            relationship,
            changes,
        })
        .await;
    }

    /// Records a model call's usage: a cast to the write lane (retried there while the
    /// database is unavailable), so a reply ready to send never waits for the write.
    /// Until written, spend reads through this handle (and `ReplyInputs`) add it.
    pub async fn record_spend(&self, day: String, scopes: Vec<SpendScope>, usage: TokenUsage) {
        let ticket = self.journal.spend.add(&day, &scopes, usage);
        let msg = StoreMsg::RecordSpend {
            ticket,
            day,
            scopes,
            usage,
        };
        if let Err(error) = self.slot.cast(msg).await {
            self.journal.spend.written(ticket);
            tracing::error!(%error, "store unavailable; a model call's token usage was dropped");
        }
    }

    /// Erases everything stored about a member in every server, including their messages
    /// still waiting to be written.
    pub async fn erase_user(&self, user: UserId) -> StoreResult<DeletionReport> {
        let buffered = self.journal.forget_author(user);
        let mut report = self.delete_user_rows(user).await?;
        report.messages += u64::try_from(buffered).unwrap_or(u64::MAX);
        Ok(report)
    }

    /// Waits until every message and write accepted so far is in the database.
    pub async fn flush(&self) -> Result<(), ActorError> {
        self.slot.call(StoreMsg::Flush).await
    }

    /// The reply's inputs, all read now (never cached): transcript, the member's profile,
    /// persona and mood.
    pub async fn reply_inputs(
        &self,
        channel: ChannelId,
        member: ServerMember,
        since: DateTime<Utc>,
        max_messages: u64,
    ) -> StoreResult<ReplyInputs> {
        self.call(|reply| StoreMsg::ReplyInputs {
            channel,
            member,
            since,
            max_messages,
            reply,
        })
        .await
    }

    pub async fn recent_messages(
        &self,
        channel: ChannelId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<LoggedMessage>> {
        self.call(|reply| StoreMsg::RecentMessages {
            channel,
            since,
            limit,
            reply,
        })
        .await
    }

    pub async fn last_message(&self, channel: ChannelId) -> StoreResult<Option<LoggedMessage>> {
        self.call(|reply| StoreMsg::LastMessage { channel, reply })
            .await
    }
}

#[async_trait]
impl PersonaReads for StoreHandle {
    async fn persona(&self, guild: Option<GuildId>) -> StoreResult<Persona> {
        StoreHandle::persona(self, guild).await
    }
    async fn mood(&self) -> StoreResult<BTreeMap<String, i64>> {
        StoreHandle::mood(self).await
    }
    async fn status_line(&self) -> StoreResult<Option<String>> {
        StoreHandle::status_line(self).await
    }
}

#[async_trait]
impl ConversationStore for StoreHandle {
    async fn reply_inputs(
        &self,
        channel: ChannelId,
        member: ServerMember,
        since: DateTime<Utc>,
        max_messages: u64,
    ) -> StoreResult<ReplyInputs> {
        StoreHandle::reply_inputs(self, channel, member, since, max_messages).await
    }
    async fn recent_messages(
        &self,
        channel: ChannelId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<LoggedMessage>> {
        StoreHandle::recent_messages(self, channel, since, limit).await
    }
    async fn relationship(&self, member: ServerMember) -> StoreResult<Relationship> {
        StoreHandle::relationship(self, member).await
    }
    async fn append_message(&self, message: LoggedMessage) {
        StoreHandle::append_message(self, message).await;
    }
    async fn save_relationship(
        &self,
        member: ServerMember,
        relationship: Relationship,
        changes: Vec<RelationshipChange>,
    ) {
        StoreHandle::save_relationship(self, member, relationship, changes).await;
    }
    async fn record_proactive_post(
        &self,
        channel: ChannelId,
        message: Option<MessageId>,
        kind: ProactiveKind,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        StoreHandle::record_proactive_post(self, channel, message, kind, at).await
    }
}

#[async_trait]
impl ProactiveStore for StoreHandle {
    async fn proactive_channels(&self) -> StoreResult<Vec<ChannelId>> {
        StoreHandle::proactive_channels(self).await
    }
    async fn last_message(&self, channel: ChannelId) -> StoreResult<Option<LoggedMessage>> {
        StoreHandle::last_message(self, channel).await
    }
    async fn proactive_posts_since(
        &self,
        channel: ChannelId,
        since: DateTime<Utc>,
    ) -> StoreResult<u64> {
        StoreHandle::proactive_posts_since(self, channel, since).await
    }
}

#[async_trait]
impl DailyStore for StoreHandle {
    async fn state_value(&self, key: String) -> StoreResult<Option<i64>> {
        StoreHandle::state_value(self, key).await
    }
    async fn roll_mood(
        &self,
        values: Vec<(String, i64)>,
        day: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        StoreHandle::roll_mood(self, values, day, now).await
    }
    async fn set_status_line(
        &self,
        text: String,
        day: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        StoreHandle::set_status_line(self, text, day, now).await
    }
}

#[async_trait]
impl LeaseStore for StoreHandle {
    async fn acquire_lease(
        &self,
        name: String,
        holder: String,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        StoreHandle::acquire_lease(self, name, holder, until).await
    }
    async fn release_lease(&self, name: String, holder: String) -> StoreResult<bool> {
        StoreHandle::release_lease(self, name, holder).await
    }
}

#[async_trait]
impl ConsolidationStore for StoreHandle {
    async fn unfinished_run(&self, scope: String) -> StoreResult<Option<(i64, DateTime<Utc>)>> {
        StoreHandle::unfinished_run(self, scope).await
    }
    async fn start_run(
        &self,
        scope: String,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        StoreHandle::start_run(self, scope, cutoff, now).await
    }
    async fn finish_run(
        &self,
        run_id: i64,
        now: DateTime<Utc>,
        stats: RunStats,
    ) -> StoreResult<()> {
        StoreHandle::finish_run(self, run_id, now, stats).await
    }
    async fn short_term_authors_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> StoreResult<Vec<ServerMember>> {
        StoreHandle::short_term_authors_before(self, cutoff).await
    }
    async fn short_term_of_member_before(
        &self,
        member: ServerMember,
        cutoff: DateTime<Utc>,
    ) -> StoreResult<Vec<LoggedMessage>> {
        StoreHandle::short_term_of_member_before(self, member, cutoff).await
    }
    async fn memory_switches(&self) -> StoreResult<MemorySwitches> {
        StoreHandle::memory_switches(self).await
    }
    async fn current_facts(
        &self,
        member: ServerMember,
        embedding_model: Option<String>,
    ) -> StoreResult<Vec<crate::domain::MemoryFact>> {
        StoreHandle::current_facts(self, member, embedding_model).await
    }
    async fn commit_consolidation(&self, commit: ConsolidationCommit) -> StoreResult<u64> {
        StoreHandle::commit_consolidation(self, commit).await
    }
    async fn archive_bot_messages(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        StoreHandle::archive_bot_messages(self, cutoff, now).await
    }
    async fn purge_archived_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        StoreHandle::purge_archived_before(self, before).await
    }
}

#[async_trait]
impl BanStore for StoreHandle {
    async fn due_temporary_bans(&self, now: DateTime<Utc>) -> StoreResult<Vec<ModCase>> {
        StoreHandle::due_temporary_bans(self, now).await
    }
    async fn lift_temporary_ban(
        &self,
        case_id: i64,
        guild: GuildId,
        target: UserId,
        lifted_by: UserId,
    ) -> StoreResult<ModCase> {
        StoreHandle::lift_temporary_ban(self, case_id, guild, target, lifted_by).await
    }
    async fn set_lift_state(&self, case_ids: Vec<i64>, state: LiftState) -> StoreResult<()> {
        StoreHandle::set_lift_state(self, case_ids, state).await
    }
    async fn log_channel(&self, guild: GuildId) -> StoreResult<Option<ChannelId>> {
        StoreHandle::log_channel(self, guild).await
    }
    async fn record_pending(&self, case: PendingCase, lifted_by: UserId) -> StoreResult<ModCase> {
        let recorded = self
            .record_case(
                case.guild,
                case.action,
                case.target,
                case.moderator,
                case.reason,
                case.expires_at,
            )
            .await?;
        // The case is written: a failure below must not write it twice, so it is only
        // logged. An unmarked lifted ban heals itself: the lifter's next unban of it
        // meets 404 Unknown Ban and marks it lifted.
        let follow_up = if case.lifted_at.is_some() {
            // Lifted on Discord while unrecorded: the ban and its unban, in that order.
            self.lift_temporary_ban(recorded.id, case.guild, case.target, lifted_by)
                .await
                .map(drop)
        } else if case.lift != LiftState::default() {
            self.set_lift_state(vec![recorded.id], case.lift).await
        } else {
            Ok(())
        };
        if let Err(error) = follow_up {
            tracing::warn!(%error, case = recorded.case_number, "a late-written case could not be completed");
        }
        Ok(recorded)
    }
}

#[async_trait]
impl BudgetStore for StoreHandle {
    async fn spend_on(
        &self,
        day: String,
        scopes: Vec<SpendScope>,
    ) -> StoreResult<Vec<(SpendScope, ScopeSpend)>> {
        let unwritten = self.journal.spend.of(&day, &scopes);
        let stored = StoreHandle::spend_on(self, day, scopes).await?;
        Ok(super::unwritten_spend::merge(stored, unwritten))
    }
    async fn record_spend(&self, day: String, scopes: Vec<SpendScope>, usage: TokenUsage) {
        StoreHandle::record_spend(self, day, scopes, usage).await;
    }
    async fn claim_spend_notice(&self, day: String, scope: SpendScope) -> StoreResult<bool> {
        StoreHandle::claim_spend_notice(self, day, scope).await
    }
    async fn purge_spend_before(&self, day: String) -> StoreResult<u64> {
        StoreHandle::purge_spend_before(self, day).await
    }
}
