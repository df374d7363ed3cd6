//! BanLifter: a timer (every `BAN_CHECK_INTERVAL`) that lifts temporary bans whose time is
//! up. A tick that arrives while the previous one is still running is skipped.

use super::{ActorError, SingleFlight, Slot};
use crate::moderation::{LiftedBan, ModerationDeps, lift_due_bans};
use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use std::time::Duration;

/// How often due bans are looked for: a ban is lifted at most this late.
pub const BAN_CHECK_INTERVAL: Duration = Duration::from_secs(30);

pub type LiftResult = Result<Vec<LiftedBan>, String>;

pub enum BanLifterMsg {
    /// Lift what is due at `now` (`None`: the current time).
    Tick {
        now: Option<DateTime<Utc>>,
        reply: Option<RpcReplyPort<LiftResult>>,
    },
    Finished(LiftResult),
}

pub struct BanLifter;

pub struct BanLifterState {
    deps: Arc<ModerationDeps>,
    run: SingleFlight<LiftResult>,
    timer: tokio::task::JoinHandle<()>,
}

impl Actor for BanLifter {
    type Msg = BanLifterMsg;
    type State = BanLifterState;
    type Arguments = (Arc<ModerationDeps>, Duration);

    async fn pre_start(
        &self,
        me: ActorRef<BanLifterMsg>,
        (deps, every): (Arc<ModerationDeps>, Duration),
    ) -> Result<BanLifterState, ActorProcessingErr> {
        let timer = me.send_interval(every, || BanLifterMsg::Tick {
            now: None,
            reply: None,
        });
        Ok(BanLifterState {
            deps,
            run: SingleFlight::default(),
            timer,
        })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<BanLifterMsg>,
        state: &mut BanLifterState,
    ) -> Result<(), ActorProcessingErr> {
        state.timer.abort();
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<BanLifterMsg>,
        msg: BanLifterMsg,
        state: &mut BanLifterState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            BanLifterMsg::Tick { now, reply } => {
                if state.run.is_running() && reply.is_none() {
                    return Ok(());
                }
                if state.run.join(reply) {
                    let deps = state.deps.clone();
                    tokio::spawn(async move {
                        let at = now.unwrap_or_else(Utc::now);
                        let result = lift_due_bans(&deps, at).await.map_err(|e| e.to_string());
                        let _ = me.cast(BanLifterMsg::Finished(result));
                    });
                }
            }
            BanLifterMsg::Finished(result) => {
                if let Err(error) = &result {
                    tracing::warn!(%error, "lifting temporary bans failed");
                }
                state.run.finish(result);
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct BanLifterHandle {
    slot: Slot<BanLifterMsg>,
}

impl BanLifterHandle {
    pub fn new(slot: Slot<BanLifterMsg>) -> Self {
        Self { slot }
    }

    /// Lifts what is due at `now` (tests pass a time in the future), waiting for the result.
    /// A run already in progress is joined instead (its clock applies).
    pub async fn lift_due(&self, now: Option<DateTime<Utc>>) -> Result<LiftResult, ActorError> {
        self.slot
            .call_within(
                |reply| BanLifterMsg::Tick {
                    now,
                    reply: Some(reply),
                },
                Duration::from_secs(60),
            )
            .await
    }
}
