//! StoreActor: the one way the rest of the bot touches the database.
//!
//! Its mailbox only sorts requests, so it never waits on the database:
//! - chat messages skip the mailbox: `StoreHandle::append_message` puts them in the
//!   [`Journal`] (shared with the handle, outside the actor, so a restart or a crash loses
//!   none), and the write lane writes them in batches;
//! - so do deletions (`StoreHandle::delete_messages`): the journal drops a message still
//!   buffered, remembers the id so a late create is not logged, and the lane deletes it from
//!   the database;
//! - every other operation is one [`StoreMsg`] variant, made from the port tables in
//!   `ports::store_ops`; its [`Access`] kind decides where it runs: writes go to the write
//!   lane ([`lane`]), applied one at a time in arrival order; reads are spawned on the read
//!   pool at once (the transcript reads merge the journal, [`transcript`], so a reply never
//!   waits for a write); lease writes run at once on the writer connection.
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
pub mod sightings;
pub mod tombstones;
pub mod transcript;
pub mod unwritten_spend;

#[cfg(test)]
mod read_only_tests;

pub use handle::StoreHandle;
pub use journal::Journal;
pub use requests::{Access, Ctx, StoreMsg};

use crate::store::Store;
use lane::LaneJob;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Writes queued for the lane at most before the actor waits.
pub const LANE_CAPACITY: usize = 1024;

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
}

impl StoreState {
    /// Queues a write; an error means the lane died and the actor must restart.
    async fn enqueue(&self, job: LaneJob) -> Result<(), ActorProcessingErr> {
        let lane = self.lane.as_ref().ok_or("the write lane is closed")?;
        lane.send(job)
            .await
            .map_err(|_| "the write lane stopped; restarting the store actor".into())
    }

    /// Runs a request at once, off the mailbox.
    fn spawn(&self, msg: StoreMsg) {
        let (store, journal) = (self.store.clone(), self.journal.clone());
        tokio::spawn(async move {
            let access = msg.access();
            msg.run(Ctx::new(&store, &journal, access)).await;
        });
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
        match msg.access() {
            Access::Concurrent | Access::MergesJournal | Access::ImmediateWrite => state.spawn(msg),
            Access::AfterPendingWrites => state.enqueue(LaneJob::AfterWrites(msg)).await?,
            Access::InOrder | Access::Cast => state.enqueue(LaneJob::Write(msg)).await?,
        }
        Ok(())
    }
}
