//! ConversationRouter: one ConversationActor per channel, started on the channel's first
//! event and supervised here. A crashed channel actor is simply started again by the next
//! event for that channel; the log it writes lives in the store, not in the actor.

use super::conversation::{ConversationActor, ConversationDeps, ConversationMsg};
use super::{ActorError, Slot};
use crate::domain::{ChannelEvent, ChannelId};
use crate::ports::ChannelSink;
use async_trait::async_trait;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::collections::HashMap;
use std::sync::Arc;

/// How long shutdown waits for one channel to finish its reply.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

pub enum RouterMsg {
    Event(Box<ChannelEvent>),
    /// The bot was switched on or off in one channel (`Some`) or a whole server (`None`:
    /// every channel reads its policy again, one cheap read each; `/bot` changes are rare).
    PolicyChanged {
        channel: Option<ChannelId>,
    },
    /// Number of live channel actors (for stats and tests).
    ChannelCount(RpcReplyPort<usize>),
    /// Lets every channel finish what it is doing, then stops them (shutdown).
    DrainChannels(RpcReplyPort<()>),
}

pub struct ConversationRouter;

pub struct RouterState {
    deps: Arc<ConversationDeps>,
    channels: HashMap<ChannelId, ActorRef<ConversationMsg>>,
}

impl RouterState {
    async fn channel(
        &mut self,
        me: &ActorRef<RouterMsg>,
        channel: ChannelId,
    ) -> Result<ActorRef<ConversationMsg>, ActorProcessingErr> {
        if let Some(actor) = self.channels.get(&channel) {
            return Ok(actor.clone());
        }
        let (actor, _) = Actor::spawn_linked(
            None,
            ConversationActor,
            (channel, self.deps.clone()),
            me.get_cell(),
        )
        .await?;
        self.channels.insert(channel, actor.clone());
        Ok(actor)
    }

    fn forget(&mut self, cell: &ActorCell) {
        self.channels
            .retain(|_, actor| actor.get_id() != cell.get_id());
    }
}

impl Actor for ConversationRouter {
    type Msg = RouterMsg;
    type State = RouterState;
    type Arguments = Arc<ConversationDeps>;

    async fn pre_start(
        &self,
        _me: ActorRef<RouterMsg>,
        deps: Arc<ConversationDeps>,
    ) -> Result<RouterState, ActorProcessingErr> {
        Ok(RouterState {
            deps,
            channels: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        me: ActorRef<RouterMsg>,
        msg: RouterMsg,
        state: &mut RouterState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RouterMsg::Event(event) => {
                let actor = state.channel(&me, event.channel()).await?;
                if let Err(error) = actor.cast(ConversationMsg::Event(event)) {
                    tracing::warn!(%error, "channel actor stopped before taking an event");
                }
            }
            RouterMsg::PolicyChanged { channel } => {
                let concerned = state
                    .channels
                    .iter()
                    .filter(|(id, _)| channel.is_none_or(|c| **id == c));
                for (_, actor) in concerned {
                    let _ = actor.cast(ConversationMsg::PolicyChanged);
                }
            }
            RouterMsg::ChannelCount(reply) => {
                let _ = reply.send(state.channels.len());
            }
            RouterMsg::DrainChannels(reply) => {
                // All channels at once: shutdown takes as long as the slowest, not the sum.
                let drains = state.channels.drain().map(|(_, actor)| async move {
                    if let Err(error) = actor.drain_and_wait(Some(DRAIN_TIMEOUT)).await {
                        tracing::warn!(?error, "a channel did not finish before shutdown");
                    }
                });
                futures::future::join_all(drains).await;
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _me: ActorRef<RouterMsg>,
        event: SupervisionEvent,
        state: &mut RouterState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                tracing::error!(%error, "a channel actor failed; it restarts with the next message");
                state.forget(&cell);
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => state.forget(&cell),
            _ => {}
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct RouterHandle {
    slot: Slot<RouterMsg>,
}

impl RouterHandle {
    pub fn new(slot: Slot<RouterMsg>) -> Self {
        Self { slot }
    }

    pub async fn deliver(&self, event: ChannelEvent) {
        if let Err(error) = self.slot.cast(RouterMsg::Event(Box::new(event))).await {
            tracing::error!(%error, "conversation router unavailable; event dropped");
        }
    }

    /// Tells the channel actors concerned that `/bot` changed where the bot speaks in one
    /// channel (`Some`) or a whole server (`None`).
    pub async fn policy_changed(&self, channel: Option<ChannelId>) {
        if let Err(error) = self.slot.cast(RouterMsg::PolicyChanged { channel }).await {
            tracing::warn!(%error, "conversation router unavailable; channels keep their old settings");
        }
    }

    pub async fn channel_count(&self) -> Result<usize, ActorError> {
        self.slot.call(RouterMsg::ChannelCount).await
    }

    pub async fn drain_channels(&self) -> Result<(), ActorError> {
        self.slot
            .call_within(
                RouterMsg::DrainChannels,
                DRAIN_TIMEOUT + super::CALL_TIMEOUT,
            )
            .await
    }
}

#[async_trait]
impl ChannelSink for RouterHandle {
    async fn deliver(&self, event: ChannelEvent) {
        RouterHandle::deliver(self, event).await;
    }
}
