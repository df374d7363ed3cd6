//! MemoryConsolidator: runs the nightly consolidation (cron from settings) and, after it,
//! starts the new day (mood, status). The cron job only sends this actor a message; the
//! run itself is a spawned task reporting back, so `RunNow` callers queue as waiters and a
//! second run never overlaps the first.

use super::status::StatusHandle;
use super::{ActorError, SingleFlight, Slot};
use crate::consolidation::{ConsolidationDeps, RunReport, run_once};
use chrono::Utc;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use tokio_cron_scheduler::{Job, JobScheduler};

pub type RunResult = Result<RunReport, String>;

pub enum ConsolidatorMsg {
    /// Start a run now (or join the one in progress) and answer when it is done.
    RunNow(Option<RpcReplyPort<RunResult>>),
    Finished(RunResult),
}

pub struct ConsolidatorArgs {
    pub deps: Arc<ConsolidationDeps>,
    pub cron: String,
    pub me: Slot<ConsolidatorMsg>,
    pub status: StatusHandle,
}

pub struct MemoryConsolidator;

pub struct ConsolidatorState {
    deps: Arc<ConsolidationDeps>,
    status: StatusHandle,
    scheduler: JobScheduler,
    run: SingleFlight<RunResult>,
}

impl Actor for MemoryConsolidator {
    type Msg = ConsolidatorMsg;
    type State = ConsolidatorState;
    type Arguments = ConsolidatorArgs;

    async fn pre_start(
        &self,
        _me: ActorRef<ConsolidatorMsg>,
        args: ConsolidatorArgs,
    ) -> Result<ConsolidatorState, ActorProcessingErr> {
        let scheduler = JobScheduler::new().await?;
        let slot = args.me.clone();
        let job = Job::new_async(args.cron.as_str(), move |_id, _scheduler| {
            let slot = slot.clone();
            Box::pin(async move {
                if let Err(error) = slot.cast(ConsolidatorMsg::RunNow(None)).await {
                    tracing::error!(%error, "could not start the nightly consolidation");
                }
            })
        })
        .map_err(|e| {
            format!(
                "schedule.consolidation_cron `{}` is not a valid cron: {e}",
                args.cron
            )
        })?;
        scheduler.add(job).await?;
        scheduler.start().await?;
        Ok(ConsolidatorState {
            deps: args.deps,
            status: args.status,
            scheduler,
            run: SingleFlight::default(),
        })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<ConsolidatorMsg>,
        state: &mut ConsolidatorState,
    ) -> Result<(), ActorProcessingErr> {
        let _ = state.scheduler.shutdown().await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<ConsolidatorMsg>,
        msg: ConsolidatorMsg,
        state: &mut ConsolidatorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ConsolidatorMsg::RunNow(reply) => {
                if state.run.join(reply) {
                    let deps = state.deps.clone();
                    let status = state.status.clone();
                    tokio::spawn(async move {
                        let result = run_once(&deps, Utc::now()).await.map_err(|e| e.to_string());
                        if result.is_ok() {
                            // The StatusActor logs its own failures; the old status stays.
                            let _ = status.new_day().await;
                        }
                        let _ = me.cast(ConsolidatorMsg::Finished(result));
                    });
                }
            }
            ConsolidatorMsg::Finished(result) => {
                if let Err(error) = &result {
                    tracing::error!(%error, "consolidation run failed; it resumes next time");
                }
                state.run.finish(result);
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct ConsolidatorHandle {
    slot: Slot<ConsolidatorMsg>,
}

impl ConsolidatorHandle {
    pub fn new(slot: Slot<ConsolidatorMsg>) -> Self {
        Self { slot }
    }

    /// Runs a consolidation now and waits for its report.
    pub async fn run_now(&self, timeout: std::time::Duration) -> Result<RunResult, ActorError> {
        self.slot
            .call_within(|reply| ConsolidatorMsg::RunNow(Some(reply)), timeout)
            .await
    }
}
