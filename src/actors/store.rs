//! StoreActor: the one way the rest of the bot touches the database.
//!
//! Writes are applied in arrival order (so a channel's appends, edits and deletes stay in
//! order); chat appends are buffered for a few milliseconds and written in one batch. Reads
//! never queue behind each other: each runs as its own task on the read pool, after any
//! buffered appends are written so a read always sees every message logged before it.
//! Stopping the actor with `drain` writes whatever is still buffered.

use super::{ActorError, Slot};
use crate::admin::{AdminReply, AdminRequest};
use crate::domain::{
    ChannelId, ChannelPolicy, GuildId, KnownName, LoggedMessage, MemoryFact, MessageId, Persona,
    Relationship, RelationshipChange, UserId,
};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How long appends wait for company before they are written.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// Appends written in one transaction at most.
const BATCH_MAX: usize = 500;
/// Messages kept in memory while the database is unreachable.
const MAX_PENDING: usize = 50_000;

/// Connection-level failures worth retrying later (as opposed to a row the database refuses).
fn is_transient(error: &sea_orm::DbErr) -> bool {
    matches!(
        error,
        sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_)
    )
}

/// Everything a reply is built from, read together at the moment of the reply.
#[derive(Clone, Debug, Default)]
pub struct ReplyInputs {
    pub transcript: Vec<LoggedMessage>,
    pub facts: Vec<MemoryFact>,
    pub relationship: Relationship,
    pub known_names: Vec<KnownName>,
    pub persona: Persona,
    pub mood: BTreeMap<String, i64>,
}

/// A member seen in chat: keeps the users table and nickname history current.
#[derive(Clone, Debug)]
pub struct MemberSighting {
    pub user: UserId,
    pub username: String,
    pub is_bot: bool,
    pub guild: Option<GuildId>,
    /// Server nickname or global display name, when the member has one.
    pub display_name: Option<String>,
    pub seen_at: DateTime<Utc>,
}

type Job = Box<dyn FnOnce(Store) -> BoxFuture<'static, ()> + Send>;

pub enum StoreMsg {
    AppendMessage(LoggedMessage),
    EditMessage {
        id: MessageId,
        content: String,
        edited_at: DateTime<Utc>,
    },
    DeleteMessage(MessageId),
    SeenMember(MemberSighting),
    SaveRelationship {
        user: UserId,
        relationship: Relationship,
        changes: Vec<RelationshipChange>,
    },
    /// Writes buffered appends now; answers when they are stored.
    Flush(RpcReplyPort<()>),
    /// The batch window elapsed.
    FlushTick,
    /// An admin command, applied in order with every other write.
    Admin(AdminRequest, RpcReplyPort<Result<AdminReply, StoreError>>),
    /// A typed read, run concurrently on the read pool (built by `StoreHandle` methods).
    /// Buffered appends are written first, so the read sees every message logged before it.
    Read(Job),
    /// A read that never looks at chat messages (settings, persona): no flush needed.
    ReadSettings(Job),
    /// A typed write, run in order with every other write (built by `StoreHandle` methods).
    Write(Job),
}

pub struct StoreActor;

pub struct StoreState {
    store: Store,
    buffer: Vec<LoggedMessage>,
    tick_scheduled: bool,
    /// Recent sightings already written, so chat does not cost a user write per message.
    sightings: HashMap<(UserId, Option<GuildId>), Sighting>,
}

/// Username, display name and when they were last written.
type Sighting = (String, Option<String>, DateTime<Utc>);

/// A sighting with the same names is written again at most this often (keeps
/// `last_seen_at` roughly current without a write per message).
const SIGHTING_REFRESH: chrono::Duration = chrono::Duration::hours(1);
/// Sightings remembered at most; the map is cleared when full.
const MAX_SIGHTINGS: usize = 100_000;

impl StoreState {
    /// Whether this sighting changes anything worth a write.
    fn is_news(&mut self, seen: &MemberSighting) -> bool {
        let key = (seen.user, seen.guild);
        let value = (
            seen.username.clone(),
            seen.display_name.clone(),
            seen.seen_at,
        );
        match self.sightings.get(&key) {
            Some((username, display, at))
                if *username == value.0
                    && *display == value.1
                    && seen.seen_at - *at < SIGHTING_REFRESH =>
            {
                false
            }
            _ => {
                if self.sightings.len() >= MAX_SIGHTINGS {
                    self.sightings.clear();
                }
                self.sightings.insert(key, value);
                true
            }
        }
    }
}

impl StoreState {
    async fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.buffer);
        let Err(error) = self.store.append_messages(&batch).await else {
            return;
        };
        // One row the database refuses must not block every other: write them one by one,
        // keep what failed for a transient reason (the database is down), drop the rest.
        tracing::warn!(%error, count = batch.len(), "batch write failed; writing messages one by one");
        let mut kept = Vec::new();
        for message in batch {
            match self
                .store
                .append_messages(std::slice::from_ref(&message))
                .await
            {
                Ok(_) => {}
                Err(StoreError::Db(error)) if is_transient(&error) => kept.push(message),
                Err(error) => {
                    tracing::error!(%error, id = %message.id, "a chat message could not be stored; dropped")
                }
            }
        }
        if kept.len() > MAX_PENDING {
            let dropped = kept.len() - MAX_PENDING;
            tracing::error!(
                dropped,
                "database unavailable for too long; dropping the oldest buffered messages"
            );
            kept.drain(..dropped);
        }
        kept.append(&mut self.buffer);
        self.buffer = kept;
    }
}

impl Actor for StoreActor {
    type Msg = StoreMsg;
    type State = StoreState;
    type Arguments = Store;

    async fn pre_start(
        &self,
        _me: ActorRef<StoreMsg>,
        store: Store,
    ) -> Result<StoreState, ActorProcessingErr> {
        Ok(StoreState {
            store,
            buffer: Vec::new(),
            tick_scheduled: false,
            sightings: HashMap::new(),
        })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<StoreMsg>,
        state: &mut StoreState,
    ) -> Result<(), ActorProcessingErr> {
        state.flush().await;
        if !state.buffer.is_empty() {
            tracing::error!(
                count = state.buffer.len(),
                "chat messages could not be written before stopping"
            );
        }
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<StoreMsg>,
        msg: StoreMsg,
        state: &mut StoreState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            StoreMsg::AppendMessage(message) => {
                state.buffer.push(message);
                if state.buffer.len() >= BATCH_MAX {
                    state.flush().await;
                } else if !state.tick_scheduled {
                    state.tick_scheduled = true;
                    me.send_after(BATCH_WINDOW, || StoreMsg::FlushTick);
                }
            }
            StoreMsg::FlushTick => {
                state.tick_scheduled = false;
                state.flush().await;
            }
            StoreMsg::Flush(reply) => {
                state.flush().await;
                let _ = reply.send(());
            }
            StoreMsg::EditMessage {
                id,
                content,
                edited_at,
            } => {
                state.flush().await;
                if let Err(error) = state.store.edit_message(id, &content, edited_at).await {
                    tracing::warn!(%error, %id, "could not record a message edit");
                }
            }
            StoreMsg::DeleteMessage(id) => {
                state.flush().await;
                if let Err(error) = state.store.delete_message(id).await {
                    tracing::warn!(%error, %id, "could not record a message deletion");
                }
            }
            StoreMsg::SeenMember(seen) => {
                if !state.is_news(&seen) {
                    return Ok(());
                }
                if let Err(error) = record_sighting(&state.store, &seen).await {
                    state.sightings.remove(&(seen.user, seen.guild));
                    tracing::warn!(%error, user = %seen.user, "could not record a member");
                }
            }
            StoreMsg::SaveRelationship {
                user,
                relationship,
                changes,
            } => {
                if let Err(error) = state
                    .store
                    .save_relationship(user, relationship, &changes, Utc::now())
                    .await
                {
                    tracing::warn!(%error, %user, "could not save relationship change");
                }
            }
            StoreMsg::Admin(request, reply) => {
                state.flush().await;
                let _ = reply.send(crate::admin::apply(&state.store, request, Utc::now()).await);
            }
            StoreMsg::Read(job) => {
                state.flush().await;
                tokio::spawn(job(state.store.clone()));
            }
            StoreMsg::ReadSettings(job) => {
                tokio::spawn(job(state.store.clone()));
            }
            StoreMsg::Write(job) => {
                state.flush().await;
                job(state.store.clone()).await;
            }
        }
        Ok(())
    }
}

async fn record_sighting(store: &Store, seen: &MemberSighting) -> Result<(), StoreError> {
    store
        .upsert_user(seen.user, &seen.username, seen.is_bot, seen.seen_at)
        .await?;
    store
        .record_name(seen.user, None, &seen.username, seen.seen_at)
        .await?;
    if let Some(name) = seen.display_name.as_deref().filter(|n| *n != seen.username) {
        store
            .record_name(seen.user, seen.guild, name, seen.seen_at)
            .await?;
    }
    Ok(())
}

/// Typed access to the StoreActor.
#[derive(Clone)]
pub struct StoreHandle {
    slot: Slot<StoreMsg>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreCallError {
    #[error(transparent)]
    Actor(#[from] ActorError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreHandle {
    pub fn new(slot: Slot<StoreMsg>) -> Self {
        Self { slot }
    }

    pub fn slot(&self) -> &Slot<StoreMsg> {
        &self.slot
    }

    async fn cast(&self, msg: StoreMsg) {
        if let Err(error) = self.slot.cast(msg).await {
            tracing::error!(%error, "store unavailable; a write was dropped");
        }
    }

    pub async fn append_message(&self, message: LoggedMessage) {
        self.cast(StoreMsg::AppendMessage(message)).await;
    }

    pub async fn edit_message(&self, id: MessageId, content: String, edited_at: DateTime<Utc>) {
        self.cast(StoreMsg::EditMessage {
            id,
            content,
            edited_at,
        })
        .await;
    }

    pub async fn delete_message(&self, id: MessageId) {
        self.cast(StoreMsg::DeleteMessage(id)).await;
    }

    pub async fn seen_member(&self, sighting: MemberSighting) {
        self.cast(StoreMsg::SeenMember(sighting)).await;
    }

    pub async fn save_relationship(
        &self,
        user: UserId,
        relationship: Relationship,
        changes: Vec<RelationshipChange>,
    ) {
        self.cast(StoreMsg::SaveRelationship {
            user,
            relationship,
            changes,
        })
        .await;
    }

    /// Applies an admin command (see `crate::admin`).
    pub async fn admin(&self, request: AdminRequest) -> Result<AdminReply, StoreCallError> {
        Ok(self
            .slot
            .call(|reply| StoreMsg::Admin(request, reply))
            .await??)
    }

    pub async fn flush(&self) -> Result<(), ActorError> {
        self.slot.call(StoreMsg::Flush).await
    }

    /// Runs a typed query on the read pool, concurrently with other reads.
    pub async fn read<T, F, Fut>(&self, query: F) -> Result<T, StoreCallError>
    where
        T: Send + 'static,
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.job(query, StoreMsg::Read).await
    }

    /// Runs a typed write in order with every other write.
    pub async fn write<T, F, Fut>(&self, command: F) -> Result<T, StoreCallError>
    where
        T: Send + 'static,
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.job(command, StoreMsg::Write).await
    }

    async fn job<T, F, Fut>(&self, work: F, wrap: fn(Job) -> StoreMsg) -> Result<T, StoreCallError>
    where
        T: Send + 'static,
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let result = self
            .slot
            .call(move |reply: RpcReplyPort<Result<T, StoreError>>| {
                wrap(Box::new(move |store: Store| -> BoxFuture<'static, ()> {
                    Box::pin(async move {
                        let _ = reply.send(work(store).await);
                    })
                }))
            })
            .await?;
        Ok(result?)
    }

    /// The reply's inputs, all read now (never cached): transcript, the member's profile,
    /// persona and mood.
    pub async fn reply_inputs(
        &self,
        channel: ChannelId,
        user: UserId,
        since: DateTime<Utc>,
        max_messages: u64,
    ) -> Result<ReplyInputs, StoreCallError> {
        self.read(move |store| async move {
            let (transcript, facts, relationship, known_names, persona, mood) = futures::try_join!(
                store.recent_messages(channel, since, max_messages),
                store.facts_of_user(user, false),
                store.relationship(user),
                store.known_names(user),
                store.persona(),
                store.mood(),
            )?;
            Ok(ReplyInputs {
                transcript,
                facts,
                relationship,
                known_names,
                persona,
                mood,
            })
        })
        .await
    }

    pub async fn channel_policy(
        &self,
        guild: Option<GuildId>,
        channel: ChannelId,
        default: ChannelPolicy,
    ) -> Result<ChannelPolicy, StoreCallError> {
        let query =
            move |store: Store| async move { store.channel_policy(guild, channel, default).await };
        self.job(query, StoreMsg::ReadSettings).await
    }
}
