//! `StoreHandle`: the typed way to the StoreActor. Its per-operation methods and the store
//! ports' impls are made from the port tables (`ports::store_ops`, generated in
//! `requests.rs`); here are only what is more than one request: appending to and deleting
//! from the journal, skipping repeated sightings, erasing a member, writing a late case.

use super::StoreMsg;
use super::journal::Journal;
use super::sightings::Sightings;
use crate::actors::{ActorError, Slot};
use crate::domain::budget::TokenUsage;
use crate::domain::lifting::{LiftState, PendingCase};
use crate::domain::spend::{ScopeSpend, SpendScope};
use crate::domain::{DeletionReport, LoggedMessage, MessageId, ModCase, UserId};
use crate::ports::store::{MemberSighting, StoreError, StoreResult};
use ractor::RpcReplyPort;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct StoreHandle {
    slot: Slot<StoreMsg>,
    /// Chat messages go straight into the journal the StoreActor writes from, so one
    /// accepted while the actor is restarting is still written by the next incarnation.
    journal: Arc<Journal>,
    /// Requests that waited for an answer (round trips), shared by every clone.
    round_trips: Arc<AtomicU64>,
    /// Sightings already sent to be written, shared by every clone.
    sightings: Arc<Mutex<Sightings>>,
}

impl From<ActorError> for StoreError {
    fn from(error: ActorError) -> Self {
        StoreError::NotAnswering(Arc::new(error))
    }
}

impl StoreHandle {
    /// A handle on the actor at `slot`, appending to `journal` (the one in its `StoreArgs`).
    pub fn new(slot: Slot<StoreMsg>, journal: Arc<Journal>) -> Self {
        Self {
            slot,
            journal,
            round_trips: Arc::default(),
            sightings: Arc::default(),
        }
    }

    pub fn slot(&self) -> &Slot<StoreMsg> {
        &self.slot
    }

    /// Round trips to the store so far (requests that waited for an answer).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Sends a write nobody waits for; false when the StoreActor did not take it.
    pub(super) async fn cast(&self, msg: StoreMsg) -> bool {
        match self.slot.cast(msg).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, "store unavailable; a write was dropped");
                false
            }
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

    /// Keeps the users table and nickname history current; a repeat of a recent sighting
    /// costs nothing.
    pub async fn seen_member(&self, sighting: MemberSighting) {
        let news = match self.sightings.lock() {
            Ok(mut seen) => seen.is_news(&sighting),
            // A panic while the map was held: write, the map is only an economy.
            Err(_) => true,
        };
        if news {
            self.record_sighting(sighting).await;
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

    /// Today's spend of each scope, with what is cast to the write lane and not written yet
    /// (the unwritten part is read first: counted twice for a moment, never missed).
    pub async fn spend_on(
        &self,
        day: String,
        scopes: Vec<SpendScope>,
    ) -> StoreResult<Vec<(SpendScope, ScopeSpend)>> {
        let unwritten = self.journal.spend.of(&day, &scopes);
        let stored = self.stored_spend_on(day, scopes).await?;
        Ok(super::unwritten_spend::merge(stored, unwritten))
    }

    /// Records a model call's usage: a cast to the write lane (retried there while the
    /// database is unavailable), so a reply ready to send never waits for the write.
    /// Until written, spend reads through this handle (and `reply_inputs`) add it.
    pub async fn record_spend(&self, day: String, scopes: Vec<SpendScope>, usage: TokenUsage) {
        let ticket = self.journal.spend.add(&day, &scopes, usage);
        let msg = StoreMsg::WriteSpend {
            ticket,
            day,
            scopes,
            usage,
            reply: None,
        };
        if !self.cast(msg).await {
            self.journal.spend.written(ticket);
        }
    }

    /// Writes a case that could not be written when it happened, with its lifting if the
    /// ban was lifted meanwhile (`lifted_by` is recorded as lifting it).
    pub async fn record_pending(
        &self,
        case: PendingCase,
        lifted_by: UserId,
    ) -> StoreResult<ModCase> {
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
