//! ConversationRouter: one ConversationActor per channel, started on the channel's first
//! event and supervised here. A crashed channel actor is simply started again by the next
//! event for that channel; the log it writes lives in the store, not in the actor.
//!
//! Memory follows active channels: a channel quiet for `bot.channel_idle_secs` is asked to
//! stop (it does only when no reply is running or queued), and the reply rate limiter drops
//! keys whose budget is full again. The router is the only sender of events to a channel,
//! so nothing can arrive at an actor between its "idle, stopping" and its removal here.

use super::conversation::{ConversationActor, ConversationDeps, ConversationMsg};
use super::{ActorError, Slot};
use crate::domain::{ChannelEvent, ChannelId};
use crate::ports::ChannelSink;
use crate::telemetry::metrics;
use async_trait::async_trait;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Evictions in one sweep after which freed memory is handed back to the OS.
const MANY_EVICTED: usize = 100;

/// How long a channel may be quiet before its actor is stopped.
fn idle_period(deps: &ConversationDeps) -> std::time::Duration {
    std::time::Duration::from_secs(deps.settings.bot.channel_idle_secs.max(1))
}

/// How long shutdown waits for one channel to finish its reply.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

pub enum RouterMsg {
    Event(Box<ChannelEvent>),
    /// The bot was switched on or off in one channel (`Some`) or a whole server (`None`:
    /// every channel reads its policy again, one cheap read each; `/bot` changes are rare).
    PolicyChanged {
        channel: Option<ChannelId>,
    },
    /// Stops channel actors idle for longer than the idle period (sent on a timer).
    EvictIdle,
    /// Number of live channel actors (for stats and tests).
    ChannelCount(RpcReplyPort<usize>),
    /// Lets every channel finish what it is doing, then stops them (shutdown).
    DrainChannels(RpcReplyPort<()>),
}

pub struct ConversationRouter;

pub struct RouterState {
    deps: Arc<ConversationDeps>,
    channels: HashMap<ChannelId, Channel>,
}

/// A live channel actor and when an event last went to it.
struct Channel {
    actor: ActorRef<ConversationMsg>,
    last_event: Instant,
}

impl RouterState {
    async fn channel(
        &mut self,
        me: &ActorRef<RouterMsg>,
        channel: ChannelId,
    ) -> Result<ActorRef<ConversationMsg>, ActorProcessingErr> {
        if let Some(live) = self.channels.get_mut(&channel) {
            live.last_event = Instant::now();
            return Ok(live.actor.clone());
        }
        let (actor, _) = Actor::spawn_linked(
            None,
            ConversationActor,
            (channel, self.deps.clone()),
            me.get_cell(),
        )
        .await?;
        self.channels.insert(
            channel,
            Channel {
                actor: actor.clone(),
                last_event: Instant::now(),
            },
        );
        Ok(actor)
    }

    fn forget(&mut self, cell: &ActorCell) {
        self.channels
            .retain(|_, live| live.actor.get_id() != cell.get_id());
    }

    /// Asks every channel quiet for longer than the idle period to stop; those with work
    /// left say no and stay.
    async fn evict_idle(&mut self) {
        let idle_after = idle_period(&self.deps);
        let quiet: Vec<(ChannelId, ActorRef<ConversationMsg>)> = self
            .channels
            .iter()
            .filter(|(_, live)| live.last_event.elapsed() >= idle_after)
            .map(|(id, live)| (*id, live.actor.clone()))
            .collect();
        let asks = quiet.into_iter().map(|(id, actor)| async move {
            let stopped = matches!(
                actor
                    .call(ConversationMsg::StopIfIdle, Some(super::CALL_TIMEOUT))
                    .await,
                Ok(ractor::rpc::CallResult::Success(true))
            );
            (id, stopped)
        });
        let mut evicted = 0usize;
        for (id, stopped) in futures::future::join_all(asks).await {
            if stopped {
                self.channels.remove(&id);
                evicted += 1;
            }
        }
        self.deps.limits.forget_idle_keys();
        // A crowd of channels gone quiet, or the last live one: the rush is over, give its
        // memory back (see telemetry::memory).
        if evicted >= MANY_EVICTED || (evicted > 0 && self.channels.is_empty()) {
            self.channels.shrink_to_fit();
            tokio::task::spawn_blocking(crate::telemetry::memory::release_idle_memory);
        }
        if evicted > 0 {
            tracing::debug!(
                evicted,
                live = self.channels.len(),
                "idle channel actors stopped"
            );
        }
    }
}

impl Actor for ConversationRouter {
    type Msg = RouterMsg;
    type State = RouterState;
    type Arguments = Arc<ConversationDeps>;

    async fn pre_start(
        &self,
        me: ActorRef<RouterMsg>,
        deps: Arc<ConversationDeps>,
    ) -> Result<RouterState, ActorProcessingErr> {
        // Checked a few times per idle period, so a channel lives at most ~1.25 periods.
        let every = (idle_period(&deps) / 4).max(std::time::Duration::from_millis(200));
        me.send_interval(every, || RouterMsg::EvictIdle);
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
                for (_, live) in concerned {
                    let _ = live.actor.cast(ConversationMsg::PolicyChanged);
                }
            }
            RouterMsg::EvictIdle => state.evict_idle().await,
            RouterMsg::ChannelCount(reply) => {
                let _ = reply.send(state.channels.len());
            }
            RouterMsg::DrainChannels(reply) => {
                // All channels at once: shutdown takes as long as the slowest, not the sum.
                let drains = state.channels.drain().map(|(_, live)| async move {
                    if let Err(error) = live.actor.drain_and_wait(Some(DRAIN_TIMEOUT)).await {
                        tracing::warn!(?error, "a channel did not finish before shutdown");
                    }
                });
                futures::future::join_all(drains).await;
                let _ = reply.send(());
            }
        }
        metrics::channel_actors(state.channels.len());
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
                metrics::actor_restarted("channel");
                state.forget(&cell);
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => state.forget(&cell),
            _ => {}
        }
        metrics::channel_actors(state.channels.len());
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

    /// Shutdown's first step for the router (`Stop::After`): every channel finishes its reply.
    pub fn drain_on_shutdown(slot: Slot<RouterMsg>) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Err(error) = RouterHandle::new(slot).drain_channels().await {
                tracing::warn!(%error, "channels did not drain cleanly");
            }
        })
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
