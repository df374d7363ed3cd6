//! RootSupervisor: starts every long-lived actor linked to itself and restarts the one that
//! fails, with the same arguments. Shutdown runs in dependency order: stop listening to
//! Discord, let channels finish their replies, then write what the store still buffers.

use super::conversation::ConversationDeps;
use super::gateway::{Gateway, GatewayArgs};
use super::jobs::{BanLifting, NewDay, NightlyConsolidation, ProactiveTick};
use super::periodic::{PeriodicActor, PeriodicArgs, PeriodicStep, Schedule};
use super::router::{ConversationRouter, RouterHandle};
use super::store::{StoreActor, StoreArgs};
use super::{ActorError, ActorName, Slot};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::sync::Arc;
use std::time::Duration;

/// The supervised children.
pub type Child = ActorName;

/// Start order: the store first (everyone writes to it), Discord last (events need a home).
const START_ORDER: [Child; 7] = [
    Child::Store,
    Child::Router,
    Child::NewDay,
    Child::Consolidator,
    Child::Proactive,
    Child::BanLifter,
    Child::Gateway,
];

/// A repeated job and when it fires.
pub struct JobArgs<S> {
    pub step: Arc<S>,
    pub schedule: Schedule,
}

pub struct RootArgs {
    pub instance: String,
    pub store: StoreArgs,
    pub conversation: Arc<ConversationDeps>,
    pub new_day: JobArgs<NewDay>,
    pub consolidation: JobArgs<NightlyConsolidation>,
    pub proactive: JobArgs<ProactiveTick>,
    pub bans: JobArgs<BanLifting>,
    /// `None` runs without a chat connection (maintenance commands, in-process tests).
    pub gateway: Option<GatewayArgs>,
}

/// Longer than the sum of the per-step limits in `RootMsg::Shutdown` (gateway 10 s,
/// channels 35 s, schedulers 5 s each, store 30 s), so the outer call never gives up first.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(150);

pub enum RootMsg {
    Shutdown(RpcReplyPort<()>),
    /// Start a child again (sent to itself after a failure and a backoff).
    Restart(Child),
    /// How many times each child was restarted (observability and tests).
    Restarts(RpcReplyPort<Vec<(Child, u32)>>),
}

pub struct RootSupervisor;

pub struct RootState {
    args: RootArgs,
    children: Vec<(Child, ActorCell)>,
    restarts: Vec<(Child, u32)>,
    stopping: bool,
}

impl RootState {
    async fn spawn(
        &mut self,
        me: &ActorRef<RootMsg>,
        child: Child,
    ) -> Result<(), ActorProcessingErr> {
        let instance = self.args.instance.as_str();
        let name = child.registered(instance);
        let parent = me.get_cell();
        let args = &self.args;
        let cell = match child {
            Child::Root => return Ok(()),
            Child::Store => link(name, StoreActor, args.store.clone(), parent).await?,
            Child::Router => {
                link(name, ConversationRouter, args.conversation.clone(), parent).await?
            }
            Child::NewDay => job(instance, child, &args.new_day, parent).await?,
            Child::Consolidator => job(instance, child, &args.consolidation, parent).await?,
            Child::Proactive => job(instance, child, &args.proactive, parent).await?,
            Child::BanLifter => job(instance, child, &args.bans, parent).await?,
            Child::Gateway => match &args.gateway {
                Some(gateway) => link(name, Gateway, gateway.clone(), parent).await?,
                None => return Ok(()),
            },
        };
        self.children.retain(|(c, _)| *c != child);
        self.children.push((child, cell));
        Ok(())
    }

    fn which(&self, cell: &ActorCell) -> Option<Child> {
        self.children
            .iter()
            .find(|(_, c)| c.get_id() == cell.get_id())
            .map(|(child, _)| *child)
    }

    fn cell(&self, child: Child) -> Option<ActorCell> {
        self.children
            .iter()
            .find(|(c, _)| *c == child)
            .map(|(_, cell)| cell.clone())
    }

    /// Schedules a restart after a backoff that grows while a child keeps failing (say,
    /// Discord unreachable); the supervisor's mailbox stays free meanwhile.
    fn schedule_restart(&mut self, me: &ActorRef<RootMsg>, child: Child) {
        crate::telemetry::metrics::actor_restarted(child.role());
        let count = match self.restarts.iter_mut().find(|(c, _)| *c == child) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.restarts.push((child, 1));
                1
            }
        };
        let delay =
            Duration::from_millis(100 * u64::from(count.min(50))).min(Duration::from_secs(5));
        me.send_after(delay, move || RootMsg::Restart(child));
    }
}

/// Spawns a periodic job's actor under `parent`.
async fn job<S: PeriodicStep>(
    instance: &str,
    child: Child,
    args: &JobArgs<S>,
    parent: ActorCell,
) -> Result<ActorCell, ractor::SpawnErr> {
    let periodic = PeriodicArgs {
        step: args.step.clone(),
        schedule: args.schedule.clone(),
        me: Slot::new(instance, child),
    };
    link(
        child.registered(instance),
        PeriodicActor::<S>::default(),
        periodic,
        parent,
    )
    .await
}

/// Spawns `actor` under `parent` with a registered name.
async fn link<A: Actor>(
    name: String,
    actor: A,
    args: A::Arguments,
    parent: ActorCell,
) -> Result<ActorCell, ractor::SpawnErr> {
    Ok(Actor::spawn_linked(Some(name), actor, args, parent)
        .await?
        .0
        .get_cell())
}

impl Actor for RootSupervisor {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = RootArgs;

    async fn pre_start(
        &self,
        me: ActorRef<RootMsg>,
        args: RootArgs,
    ) -> Result<RootState, ActorProcessingErr> {
        let mut state = RootState {
            args,
            children: Vec::new(),
            restarts: Vec::new(),
            stopping: false,
        };
        for child in START_ORDER {
            state.spawn(&me, child).await?;
        }
        Ok(state)
    }

    async fn handle(
        &self,
        me: ActorRef<RootMsg>,
        msg: RootMsg,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RootMsg::Restart(child) if !state.stopping => {
                if let Err(error) = state.spawn(&me, child).await {
                    tracing::error!(child = child.role(), %error, "restart failed; trying again");
                    state.schedule_restart(&me, child);
                }
            }
            RootMsg::Restart(_) => {}
            RootMsg::Restarts(reply) => {
                let _ = reply.send(state.restarts.clone());
            }
            RootMsg::Shutdown(reply) => {
                state.stopping = true;
                if let Some(gateway) = state.cell(Child::Gateway) {
                    let _ = gateway
                        .stop_and_wait(None, Some(Duration::from_secs(10)))
                        .await;
                }
                let router = RouterHandle::new(Slot::new(&state.args.instance, Child::Router));
                if let Err(error) = router.drain_channels().await {
                    tracing::warn!(%error, "channels did not drain cleanly");
                }
                for child in [
                    Child::Proactive,
                    Child::BanLifter,
                    Child::Consolidator,
                    Child::NewDay,
                    Child::Router,
                ] {
                    if let Some(cell) = state.cell(child) {
                        let _ = cell.stop_and_wait(None, Some(Duration::from_secs(5))).await;
                    }
                }
                if let Some(store) = state.cell(Child::Store) {
                    // Drain: every write already queued is applied, then buffered appends are flushed.
                    if let Err(error) = store.drain_and_wait(Some(Duration::from_secs(30))).await {
                        tracing::error!(?error, "store did not drain before shutdown");
                    }
                }
                let _ = reply.send(());
                me.stop(Some("shutdown".into()));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<RootMsg>,
        event: SupervisionEvent,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        if state.stopping {
            return Ok(());
        }
        let (cell, why) = match &event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, error.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell, reason.clone().unwrap_or_else(|| "stopped".into()))
            }
            _ => return Ok(()),
        };
        if let Some(child) = state.which(cell) {
            tracing::error!(child = child.role(), reason = %why, "actor stopped unexpectedly; restarting it");
            state.children.retain(|(c, _)| *c != child);
            state.schedule_restart(&me, child);
        }
        Ok(())
    }
}

/// Handle on the running tree.
#[derive(Clone)]
pub struct SupervisorHandle {
    slot: Slot<RootMsg>,
}

impl SupervisorHandle {
    pub fn new(slot: Slot<RootMsg>) -> Self {
        Self { slot }
    }

    pub async fn shutdown(&self) -> Result<(), ActorError> {
        self.slot
            .call_within(RootMsg::Shutdown, SHUTDOWN_BUDGET)
            .await
    }

    pub async fn restarts(&self) -> Result<Vec<(Child, u32)>, ActorError> {
        self.slot.call(RootMsg::Restarts).await
    }
}
