//! ProactiveScheduler: a timer (every `schedule.proactive_interval_secs`) that runs the
//! proactive step. A tick that arrives while the previous one is still running is skipped,
//! so a slow model never stacks up ticks.

use super::{ActorError, SingleFlight, Slot};
use crate::domain::ChannelId;
use crate::domain::proactive::ProactiveDecision;
use crate::proactive::{ProactiveDeps, tick};
use chrono::Utc;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use std::time::Duration;

pub type TickResult = Result<Vec<(ChannelId, ProactiveDecision)>, String>;

pub enum ProactiveMsg {
    Tick(Option<RpcReplyPort<TickResult>>),
    Finished(TickResult),
}

pub struct ProactiveScheduler;

pub struct ProactiveState {
    deps: Arc<ProactiveDeps>,
    run: SingleFlight<TickResult>,
    timer: tokio::task::JoinHandle<()>,
}

impl Actor for ProactiveScheduler {
    type Msg = ProactiveMsg;
    type State = ProactiveState;
    type Arguments = (Arc<ProactiveDeps>, Duration);

    async fn pre_start(
        &self,
        me: ActorRef<ProactiveMsg>,
        (deps, every): (Arc<ProactiveDeps>, Duration),
    ) -> Result<ProactiveState, ActorProcessingErr> {
        let timer = me.send_interval(every, || ProactiveMsg::Tick(None));
        Ok(ProactiveState {
            deps,
            run: SingleFlight::default(),
            timer,
        })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<ProactiveMsg>,
        state: &mut ProactiveState,
    ) -> Result<(), ActorProcessingErr> {
        state.timer.abort();
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<ProactiveMsg>,
        msg: ProactiveMsg,
        state: &mut ProactiveState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ProactiveMsg::Tick(reply) => {
                if state.run.is_running() && reply.is_none() {
                    tracing::debug!("previous proactive tick still running; skipping this one");
                    return Ok(());
                }
                if state.run.join(reply) {
                    let deps = state.deps.clone();
                    tokio::spawn(async move {
                        let result = tick(&deps, Utc::now()).await.map_err(|e| e.to_string());
                        let _ = me.cast(ProactiveMsg::Finished(result));
                    });
                }
            }
            ProactiveMsg::Finished(result) => {
                if let Err(error) = &result {
                    tracing::warn!(%error, "proactive tick failed");
                }
                state.run.finish(result);
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct ProactiveHandle {
    slot: Slot<ProactiveMsg>,
}

impl ProactiveHandle {
    pub fn new(slot: Slot<ProactiveMsg>) -> Self {
        Self { slot }
    }

    /// Runs one tick now (tests, and operators via the sandbox).
    pub async fn tick_now(&self) -> Result<TickResult, ActorError> {
        self.slot
            .call_within(
                |reply| ProactiveMsg::Tick(Some(reply)),
                Duration::from_secs(120),
            )
            .await
    }
}
