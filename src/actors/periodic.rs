//! PeriodicActor: one actor shape for every job the bot repeats (lifting due bans, the
//! proactive tick, the nightly consolidation, the day's mood and status).
//!
//! A job is a [`PeriodicStep`]: one run at a given time, with a typed error. The actor
//! fires it on its [`Schedule`] or on request, never runs two at once (a request during a
//! run joins that run and gets its result; a timer tick during a run is skipped), and runs
//! it in a spawned task so its mailbox (and shutdown) never waits on a long job.

use super::{ActorError, Slot};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use tokio_cron_scheduler::{Job, JobScheduler};

/// One run of a repeated job.
#[async_trait]
pub trait PeriodicStep: Send + Sync + 'static {
    type Output: Clone + Send + Sync + std::fmt::Debug + 'static;
    type Error: std::error::Error + Send + Sync + 'static;
    /// For logs.
    const NAME: &'static str;
    /// The job's actor name (registered name, restart metrics): unique in the tree.
    const ROLE: &'static str;
    async fn run(&self, now: DateTime<Utc>) -> Result<Self::Output, Self::Error>;
}

/// A run's result, shared by everyone who waited for it.
pub type RunResult<S> = Result<<S as PeriodicStep>::Output, Arc<<S as PeriodicStep>::Error>>;

/// When a job fires on its own.
#[derive(Clone, Debug)]
pub enum Schedule {
    Every(Duration),
    /// A cron expression (seconds first, as tokio-cron-scheduler reads it).
    Cron(String),
    /// Only when asked.
    OnRequest,
}

pub enum PeriodicMsg<S: PeriodicStep> {
    /// Run at `now` (`None`: the current time). Without a reply port (a timer) the run is
    /// skipped if one is in progress.
    Run {
        now: Option<DateTime<Utc>>,
        reply: Option<RpcReplyPort<RunResult<S>>>,
    },
    Finished(RunResult<S>),
}

/// A job and when it fires; the supervisor starts each incarnation with a clone.
pub struct PeriodicArgs<S: PeriodicStep> {
    pub step: Arc<S>,
    pub schedule: Schedule,
}

impl<S: PeriodicStep> Clone for PeriodicArgs<S> {
    fn clone(&self) -> Self {
        Self {
            step: self.step.clone(),
            schedule: self.schedule.clone(),
        }
    }
}

pub struct PeriodicActor<S>(PhantomData<fn() -> S>);

impl<S> Default for PeriodicActor<S> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

pub struct PeriodicState<S: PeriodicStep> {
    step: Arc<S>,
    running: bool,
    waiters: Vec<RpcReplyPort<RunResult<S>>>,
    timer: Option<tokio::task::JoinHandle<()>>,
    cron: Option<JobScheduler>,
}

impl<S: PeriodicStep> Actor for PeriodicActor<S> {
    type Msg = PeriodicMsg<S>;
    type State = PeriodicState<S>;
    type Arguments = PeriodicArgs<S>;

    async fn pre_start(
        &self,
        me: ActorRef<PeriodicMsg<S>>,
        args: PeriodicArgs<S>,
    ) -> Result<PeriodicState<S>, ActorProcessingErr> {
        let mut state = PeriodicState {
            step: args.step,
            running: false,
            waiters: Vec::new(),
            timer: None,
            cron: None,
        };
        match args.schedule {
            Schedule::Every(every) => {
                state.timer = Some(me.send_interval(every, || PeriodicMsg::Run {
                    now: None,
                    reply: None,
                }));
            }
            Schedule::Cron(expression) => {
                let scheduler = JobScheduler::new().await?;
                // The scheduler lives in this incarnation's state and is shut down with it,
                // so the job can hold this incarnation's own reference.
                let actor = me.clone();
                let job = Job::new_async(expression.as_str(), move |_id, _scheduler| {
                    let actor = actor.clone();
                    Box::pin(async move {
                        let run = PeriodicMsg::Run {
                            now: None,
                            reply: None,
                        };
                        if let Err(error) = actor.cast(run) {
                            tracing::error!(%error, job = S::NAME, "could not start a scheduled run");
                        }
                    })
                })
                .map_err(|e| format!("`{expression}` is not a valid cron expression: {e}"))?;
                scheduler.add(job).await?;
                scheduler.start().await?;
                state.cron = Some(scheduler);
            }
            Schedule::OnRequest => {}
        }
        Ok(state)
    }

    async fn post_stop(
        &self,
        _me: ActorRef<PeriodicMsg<S>>,
        state: &mut PeriodicState<S>,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(timer) = state.timer.take() {
            timer.abort();
        }
        if let Some(mut cron) = state.cron.take() {
            let _ = cron.shutdown().await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<PeriodicMsg<S>>,
        msg: PeriodicMsg<S>,
        state: &mut PeriodicState<S>,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            PeriodicMsg::Run { now, reply } => {
                if state.running && reply.is_none() {
                    tracing::debug!(job = S::NAME, "previous run still going; skipping this one");
                    return Ok(());
                }
                state.waiters.extend(reply);
                if !std::mem::replace(&mut state.running, true) {
                    let step = state.step.clone();
                    tokio::spawn(async move {
                        let result = step
                            .run(now.unwrap_or_else(Utc::now))
                            .await
                            .map_err(Arc::new);
                        let _ = me.cast(PeriodicMsg::Finished(result));
                    });
                }
            }
            PeriodicMsg::Finished(result) => {
                if let Err(error) = &result {
                    tracing::warn!(%error, job = S::NAME, "run failed");
                }
                state.running = false;
                for waiter in state.waiters.drain(..) {
                    let _ = waiter.send(result.clone());
                }
            }
        }
        Ok(())
    }
}

/// Typed access to one periodic actor.
pub struct PeriodicHandle<S: PeriodicStep> {
    slot: Slot<PeriodicMsg<S>>,
}

impl<S: PeriodicStep> Clone for PeriodicHandle<S> {
    fn clone(&self) -> Self {
        Self {
            slot: self.slot.clone(),
        }
    }
}

impl<S: PeriodicStep> PeriodicHandle<S> {
    pub fn new(slot: Slot<PeriodicMsg<S>>) -> Self {
        Self { slot }
    }

    /// Runs now (or joins the run in progress) and waits for the result.
    pub async fn run_now(&self, timeout: Duration) -> Result<RunResult<S>, ActorError> {
        self.run_at(None, timeout).await
    }

    /// Runs as if the clock said `now` (`None`: the current time).
    pub async fn run_at(
        &self,
        now: Option<DateTime<Utc>>,
        timeout: Duration,
    ) -> Result<RunResult<S>, ActorError> {
        self.slot
            .call_within(
                |reply| PeriodicMsg::Run {
                    now,
                    reply: Some(reply),
                },
                timeout,
            )
            .await
    }
}
