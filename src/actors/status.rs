//! StatusActor: the daily mood and the status line shown under the bot's name. Work runs in
//! spawned tasks (the model call can be slow); `NewDay` requests arriving meanwhile are
//! folded into the one in progress.

use super::{ActorError, SingleFlight, Slot};
use crate::daily::{DailyDeps, apply_stored_status, refresh_status, roll_mood};
use chrono::Utc;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;

pub enum StatusMsg {
    /// Roll today's mood (once a day) and generate a new status.
    NewDay(Option<RpcReplyPort<Result<String, String>>>),
    /// Show the stored status again (after the gateway reconnects).
    ApplyStored,
    Finished(Result<String, String>),
}

pub struct StatusActor;

pub struct StatusState {
    deps: Arc<DailyDeps>,
    run: SingleFlight<Result<String, String>>,
}

impl Actor for StatusActor {
    type Msg = StatusMsg;
    type State = StatusState;
    type Arguments = Arc<DailyDeps>;

    async fn pre_start(
        &self,
        _me: ActorRef<StatusMsg>,
        deps: Arc<DailyDeps>,
    ) -> Result<StatusState, ActorProcessingErr> {
        Ok(StatusState {
            deps,
            run: SingleFlight::default(),
        })
    }

    async fn handle(
        &self,
        me: ActorRef<StatusMsg>,
        msg: StatusMsg,
        state: &mut StatusState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            StatusMsg::NewDay(reply) => {
                if state.run.join(reply) {
                    let deps = state.deps.clone();
                    tokio::spawn(async move {
                        let now = Utc::now();
                        let result = match roll_mood(&deps, now).await {
                            Ok(_) => refresh_status(&deps, now).await.map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        let _ = me.cast(StatusMsg::Finished(result));
                    });
                }
            }
            StatusMsg::ApplyStored => {
                let deps = state.deps.clone();
                tokio::spawn(async move { apply_stored_status(&deps).await });
            }
            StatusMsg::Finished(result) => {
                if let Err(error) = &result {
                    tracing::warn!(%error, "status not refreshed; the old one stays");
                }
                state.run.finish(result);
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct StatusHandle {
    slot: Slot<StatusMsg>,
}

impl StatusHandle {
    pub fn new(slot: Slot<StatusMsg>) -> Self {
        Self { slot }
    }

    /// Starts the new day and waits for the status (or why there is none).
    pub async fn new_day(&self) -> Result<String, String> {
        self.slot
            .call_within(
                |reply| StatusMsg::NewDay(Some(reply)),
                std::time::Duration::from_secs(300),
            )
            .await
            .map_err(|e: ActorError| e.to_string())?
    }

    pub async fn apply_stored(&self) {
        if let Err(error) = self.slot.cast(StatusMsg::ApplyStored).await {
            tracing::debug!(%error, "status actor unavailable");
        }
    }
}
