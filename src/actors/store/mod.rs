//! StoreActor: the one way the rest of the bot touches the database.
//!
//! Its mailbox only sorts requests, so it never waits on the database:
//! - chat messages skip the mailbox: `StoreHandle::append_message` puts them in the
//!   [`Journal`] (shared with the handle, outside the actor, so a restart or a crash loses
//!   none), and the write lane writes them in batches;
//! - so do deletions (`StoreHandle::delete_messages`): the journal drops a message still
//!   buffered, remembers the id so a late create is not logged, and the lane deletes it from
//!   the database;
//! - writes (typed [`StoreRequest`]s, edits, sightings, relationship changes, token spend)
//!   go to the write lane ([`lane`]), applied one at a time in arrival order;
//! - reads are spawned on the read pool at once; the transcript reads (`ReplyInputs`,
//!   `RecentMessages`, `LastMessage`) merge the journal, so a reply never waits for a write.
//!
//! Backpressure: the lane's queue is bounded ([`LANE_CAPACITY`]); when a long write holds
//! it and the queue is full, the actor waits to enqueue, and its (unbounded) mailbox grows
//! instead. Chat messages never queue there: the journal holds them; when it holds
//! `journal::MAX_PENDING` (the database far behind), appending waits for room, so channel
//! actors slow down and no message is dropped.

pub mod handle;
pub mod journal;
pub mod lane;
pub mod requests;
pub mod tombstones;
pub mod unwritten_spend;

pub use handle::StoreHandle;
pub use journal::Journal;
pub use requests::{Access, StoreRequest};

use crate::domain::budget::TokenUsage;
use crate::domain::spend::{Charge, SpendScope, day_of};
use crate::domain::{
    ChannelId, GuildId, LoggedMessage, MessageId, Relationship, RelationshipChange, ServerMember,
    UserId,
};
use crate::ports::store::{MemberSighting, ReplyInputs, StoreResult};
use crate::store::Store;
use chrono::{DateTime, Utc};
use lane::LaneJob;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Writes queued for the lane at most before the actor waits.
pub const LANE_CAPACITY: usize = 1024;

pub enum StoreMsg {
    EditMessage {
        id: MessageId,
        content: String,
        edited_at: DateTime<Utc>,
    },
    SeenMember(MemberSighting),
    SaveRelationship {
        member: ServerMember,
        relationship: Relationship,
        changes: Vec<RelationshipChange>,
    },
    /// A model call's usage, added to each scope's spend on `day` (`ticket`: its entry in
    /// the journal's unwritten spend, dropped once written).
    RecordSpend {
        ticket: u64,
        day: String,
        scopes: Vec<SpendScope>,
        usage: TokenUsage,
    },
    /// Everything a reply is built from, in one read that also sees unwritten messages.
    ReplyInputs {
        channel: ChannelId,
        member: ServerMember,
        since: DateTime<Utc>,
        max_messages: u64,
        reply: RpcReplyPort<StoreResult<ReplyInputs>>,
    },
    RecentMessages {
        channel: ChannelId,
        since: DateTime<Utc>,
        limit: u64,
        reply: RpcReplyPort<StoreResult<Vec<LoggedMessage>>>,
    },
    LastMessage {
        channel: ChannelId,
        reply: RpcReplyPort<StoreResult<Option<LoggedMessage>>>,
    },
    /// Any other typed operation.
    Request(StoreRequest),
    /// Answers once every message and write accepted before it is in the database.
    Flush(RpcReplyPort<()>),
}

/// What the StoreActor starts from; the journal outlives any one incarnation of the actor.
#[derive(Clone)]
pub struct StoreArgs {
    pub store: Store,
    pub journal: Arc<Journal>,
}

pub struct StoreActor;

pub struct StoreState {
    store: Store,
    journal: Arc<Journal>,
    lane: Option<mpsc::Sender<LaneJob>>,
    lane_task: Option<tokio::task::JoinHandle<()>>,
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
        if let Some((username, display, at)) = self.sightings.get(&key)
            && *username == seen.username
            && *display == seen.display_name
            && seen.seen_at - *at < SIGHTING_REFRESH
        {
            return false;
        }
        if self.sightings.len() >= MAX_SIGHTINGS {
            self.sightings.clear();
        }
        let value = (
            seen.username.clone(),
            seen.display_name.clone(),
            seen.seen_at,
        );
        self.sightings.insert(key, value);
        true
    }

    /// Queues a write; an error means the lane died and the actor must restart.
    async fn enqueue(&self, job: LaneJob) -> Result<(), ActorProcessingErr> {
        let lane = self.lane.as_ref().ok_or("the write lane is closed")?;
        lane.send(job)
            .await
            .map_err(|_| "the write lane stopped; restarting the store actor".into())
    }
}

impl Actor for StoreActor {
    type Msg = StoreMsg;
    type State = StoreState;
    type Arguments = StoreArgs;

    async fn pre_start(
        &self,
        _me: ActorRef<StoreMsg>,
        args: StoreArgs,
    ) -> Result<StoreState, ActorProcessingErr> {
        let (lane, jobs) = mpsc::channel(LANE_CAPACITY);
        let lane_task = tokio::spawn(lane::run(args.store.clone(), args.journal.clone(), jobs));
        Ok(StoreState {
            store: args.store,
            journal: args.journal,
            lane: Some(lane),
            lane_task: Some(lane_task),
            sightings: HashMap::new(),
        })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<StoreMsg>,
        state: &mut StoreState,
    ) -> Result<(), ActorProcessingErr> {
        // Closing the queue lets the lane apply what is queued and write the journal out.
        state.lane = None;
        if let Some(task) = state.lane_task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), task).await;
        }
        if !state.journal.is_empty() {
            tracing::error!(
                messages = state.journal.len(),
                deletions = state.journal.deletions_len(),
                "chat messages or deletions could not be written before stopping"
            );
        }
        Ok(())
    }

    async fn handle(
        &self,
        _me: ActorRef<StoreMsg>,
        msg: StoreMsg,
        state: &mut StoreState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            StoreMsg::EditMessage {
                id,
                content,
                edited_at,
            } => {
                state
                    .enqueue(LaneJob::Edit {
                        id,
                        content,
                        edited_at,
                    })
                    .await?;
            }
            StoreMsg::SeenMember(seen) => {
                if state.is_news(&seen) {
                    state.enqueue(LaneJob::Sighting(seen)).await?;
                }
            }
            StoreMsg::SaveRelationship {
                member,
                relationship,
                changes,
            } => {
                state
                    .enqueue(LaneJob::SaveRelationship {
                        member,
                        relationship,
                        changes,
                    })
                    .await?;
            }
            StoreMsg::RecordSpend {
                ticket,
                day,
                scopes,
                usage,
            } => {
                let job = LaneJob::RecordSpend {
                    ticket,
                    day,
                    scopes,
                    usage,
                };
                state.enqueue(job).await?;
            }
            StoreMsg::ReplyInputs {
                channel,
                member,
                since,
                max_messages,
                reply,
            } => {
                let pending = state.journal.of_channel(channel, since);
                let unwritten = state
                    .journal
                    .spend
                    .of(&day_of(Utc::now()), &spend_scopes(member));
                let store = state.store.clone();
                answer_later(reply, async move {
                    let mut inputs =
                        read_reply_inputs(&store, channel, member, since, max_messages).await?;
                    let stored = std::mem::take(&mut inputs.transcript);
                    inputs.transcript = journal::merge_transcript(stored, pending, max_messages);
                    let spend = std::mem::take(&mut inputs.spend);
                    inputs.spend = unwritten_spend::merge(spend, unwritten);
                    Ok(inputs)
                });
            }
            StoreMsg::RecentMessages {
                channel,
                since,
                limit,
                reply,
            } => {
                let pending = state.journal.of_channel(channel, since);
                let store = state.store.clone();
                answer_later(reply, async move {
                    let stored = store.recent_messages(channel, since, limit).await?;
                    Ok(journal::merge_transcript(stored, pending, limit))
                });
            }
            StoreMsg::LastMessage { channel, reply } => {
                let unwritten = state.journal.of_channel(channel, DateTime::<Utc>::MIN_UTC);
                let store = state.store.clone();
                answer_later(reply, async move {
                    let stored = store.last_message(channel).await?;
                    Ok(stored
                        .filter(|m| !unwritten.deleted.contains(&m.id))
                        .into_iter()
                        .chain(unwritten.messages)
                        .max_by_key(|m| (m.created_at, m.id)))
                });
            }
            StoreMsg::Request(request) => match request.access() {
                Access::Read => {
                    tokio::spawn(request.run(state.store.clone()));
                }
                Access::Synced => state.enqueue(LaneJob::AfterWrites(request)).await?,
                Access::Write => state.enqueue(LaneJob::Write(request)).await?,
            },
            StoreMsg::Flush(reply) => state.enqueue(LaneJob::Barrier(reply)).await?,
        }
        Ok(())
    }
}

/// The scopes a reply to `member` is charged to.
fn spend_scopes(member: ServerMember) -> Vec<SpendScope> {
    Charge::member(member.guild.as_server(), member.user).scopes()
}

/// Runs a read on the read pool and sends its result, so the mailbox moves on at once.
fn answer_later<T: Send + 'static>(
    reply: RpcReplyPort<StoreResult<T>>,
    read: impl Future<Output = StoreResult<T>> + Send + 'static,
) {
    tokio::spawn(async move {
        let _ = reply.send(read.await);
    });
}

/// The reply's inputs from the database, read concurrently. Everything about the member
/// comes from the server the reply is in; a member who turned memory off (or a server that
/// did) gets no remembered facts.
async fn read_reply_inputs(
    store: &Store,
    channel: ChannelId,
    member: ServerMember,
    since: DateTime<Utc>,
    max_messages: u64,
) -> StoreResult<ReplyInputs> {
    // Today's token spend of the scopes the reply is charged to, for the budget gate.
    let day = day_of(Utc::now());
    let scopes = spend_scopes(member);
    let (transcript, facts, relationship, known_names, persona, mood, remembers, spend) = futures::try_join!(
        store.recent_messages(channel, since, max_messages),
        store.facts_of_member(member, false),
        store.relationship(member),
        store.known_names_in(member.user, member.guild),
        store.persona(member.guild.as_server()),
        store.mood(),
        store.remembers(member),
        store.spend_on(&day, &scopes),
    )?;
    Ok(ReplyInputs {
        transcript,
        facts: if remembers { facts } else { Vec::new() },
        relationship,
        known_names,
        persona,
        mood,
        spend,
    })
}
