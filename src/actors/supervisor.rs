//! RootSupervisor: starts every long-lived actor linked to itself and restarts the one that
//! fails, with the same arguments. Shutdown runs in the reverse of the start order, each
//! child in its own way: stop listening to Discord, stop the jobs, let channels finish their
//! replies, then write what the store still buffers.
//!
//! Children are registered on a [`Tree`] before it starts: registering one returns the slot
//! its handle uses, typed by the actor registered (`Slot<A::Msg>`) and named from the same
//! entry, so no caller writes a name or a message type that could disagree with what runs.

use super::periodic::{PeriodicActor, PeriodicArgs, PeriodicHandle, PeriodicStep, Schedule};
use super::{ActorError, ActorName, Slot};
use futures::future::BoxFuture;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The supervised children, by name.
pub type Child = ActorName;

/// How long a periodic job's actor gets to stop (its runs are spawned tasks).
const JOB_STOP: Duration = Duration::from_secs(5);

/// Longer than the sum of the children's shutdown limits (gateway 10 s, channels 35 s
/// and the router 5 s, schedulers 5 s each, store 30 s), so the outer call never gives up first.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(150);

/// How a child stops at shutdown.
pub enum Stop<M> {
    /// Stop, waiting this long for its `post_stop`.
    Within(Duration),
    /// Handle every message already queued, then stop (the store: every accepted write lands).
    Drain(Duration),
    /// Run the first step on the child (the router: let channels finish their replies),
    /// then stop within the time.
    After(fn(Slot<M>) -> BoxFuture<'static, ()>, Duration),
}

impl<M> Clone for Stop<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Stop<M> {}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("two children of the tree are named `{0}`")]
    Duplicate(&'static str),
    #[error("could not start the actor tree")]
    Spawn(#[source] ractor::SpawnErr),
}

type SpawnFn = Box<dyn Fn(String, ActorCell) -> BoxFuture<'static, SpawnResult> + Send>;
type StopFn = Box<dyn Fn(ActorCell) -> BoxFuture<'static, ()> + Send>;
type SpawnResult = Result<ActorCell, ractor::SpawnErr>;

/// One registered child: how to spawn it again, how to stop it, whom to tell it started.
struct ChildSpec {
    name: Child,
    spawn: SpawnFn,
    stop: StopFn,
    started: watch::Sender<u64>,
}

/// The children of one bot instance, registered in start order (a child's handle can go
/// into the arguments of any child registered after it).
pub struct Tree {
    instance: String,
    children: Vec<ChildSpec>,
}

impl Tree {
    pub fn new(instance: impl Into<String>) -> Self {
        Self {
            instance: instance.into(),
            children: Vec::new(),
        }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Registers `name` to run `make()` with (a clone of) `args`, started after the
    /// children registered before it, restarted when it fails. The slot reaches it across
    /// restarts.
    pub fn child<A>(
        &mut self,
        name: Child,
        make: fn() -> A,
        args: A::Arguments,
        stop: Stop<A::Msg>,
    ) -> Slot<A::Msg>
    where
        A: Actor,
        A::Arguments: Clone,
    {
        let (slot, started) = Slot::registered(name.registered(&self.instance));
        let spawn: SpawnFn = Box::new(move |registered, parent| {
            let args = args.clone();
            Box::pin(async move {
                let (actor, _) =
                    Actor::spawn_linked(Some(registered), make(), args, parent).await?;
                Ok(actor.get_cell())
            })
        });
        let target = slot.clone();
        let stop: StopFn = Box::new(move |cell| {
            let target = target.clone();
            Box::pin(async move {
                match stop {
                    Stop::Within(limit) => {
                        let _ = cell.stop_and_wait(None, Some(limit)).await;
                    }
                    Stop::Drain(limit) => {
                        if let Err(error) = cell.drain_and_wait(Some(limit)).await {
                            tracing::error!(
                                ?error,
                                child = name.role(),
                                "did not drain before shutdown"
                            );
                        }
                    }
                    Stop::After(first, limit) => {
                        first(target).await;
                        let _ = cell.stop_and_wait(None, Some(limit)).await;
                    }
                }
            })
        });
        self.children.push(ChildSpec {
            name,
            spawn,
            stop,
            started,
        });
        slot
    }

    /// Registers a periodic job: the step is the whole entry (its `ROLE` names the actor).
    pub fn job<S: PeriodicStep>(&mut self, step: S, schedule: Schedule) -> PeriodicHandle<S> {
        let args = PeriodicArgs {
            step: Arc::new(step),
            schedule,
        };
        let slot = self.child(
            Child::Job(S::ROLE),
            PeriodicActor::<S>::default,
            args,
            Stop::Within(JOB_STOP),
        );
        PeriodicHandle::new(slot)
    }

    /// Spawns the supervisor, which starts every child in order.
    pub async fn start(self) -> Result<(SupervisorHandle, tokio::task::JoinHandle<()>), TreeError> {
        for (i, child) in self.children.iter().enumerate() {
            if self.children[..i].iter().any(|c| c.name == child.name) {
                return Err(TreeError::Duplicate(child.name.role()));
            }
        }
        let (slot, started) = Slot::registered(Child::Root.registered(&self.instance));
        let name = Some(Child::Root.registered(&self.instance));
        let args = RootArgs {
            tree: self,
            _started: started,
        };
        let (_root, join) = Actor::spawn(name, RootSupervisor, args)
            .await
            .map_err(TreeError::Spawn)?;
        Ok((SupervisorHandle { slot }, join))
    }
}

pub struct RootArgs {
    tree: Tree,
    /// The root's own "started" signal, held for as long as it runs (it is never restarted).
    _started: watch::Sender<u64>,
}

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
    /// Running children: index into the tree, and the current incarnation.
    live: Vec<(usize, ActorCell)>,
    restarts: Vec<(Child, u32)>,
    stopping: bool,
}

impl RootState {
    async fn spawn(&mut self, me: &ActorRef<RootMsg>, index: usize) -> SpawnResult {
        // The spawn future owns what it needs: no borrow of the tree is held across it.
        let spawning = {
            let tree = &self.args.tree;
            let spec = &tree.children[index];
            (spec.spawn)(spec.name.registered(&tree.instance), me.get_cell())
        };
        let cell = spawning.await?;
        // Registered under its name by now: whoever waits on the slot finds it.
        self.args.tree.children[index]
            .started
            .send_modify(|generation| *generation += 1);
        self.live.retain(|(i, _)| *i != index);
        self.live.push((index, cell.clone()));
        Ok(cell)
    }

    fn index_of(&self, child: Child) -> Option<usize> {
        self.args.tree.children.iter().position(|c| c.name == child)
    }

    fn which(&self, cell: &ActorCell) -> Option<usize> {
        self.live
            .iter()
            .find(|(_, c)| c.get_id() == cell.get_id())
            .map(|(i, _)| *i)
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

impl Actor for RootSupervisor {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = RootArgs;

    async fn pre_start(
        &self,
        me: ActorRef<RootMsg>,
        args: RootArgs,
    ) -> Result<RootState, ActorProcessingErr> {
        let count = args.tree.children.len();
        let mut state = RootState {
            args,
            live: Vec::new(),
            restarts: Vec::new(),
            stopping: false,
        };
        for index in 0..count {
            state.spawn(&me, index).await?;
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
                let Some(index) = state.index_of(child) else {
                    return Ok(());
                };
                if let Err(error) = state.spawn(&me, index).await {
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
                for index in (0..state.args.tree.children.len()).rev() {
                    let stopping = state
                        .live
                        .iter()
                        .find(|(i, _)| *i == index)
                        .map(|(_, cell)| (state.args.tree.children[index].stop)(cell.clone()));
                    if let Some(stopping) = stopping {
                        stopping.await;
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
        if let Some(index) = state.which(cell) {
            let child = state.args.tree.children[index].name;
            tracing::error!(child = child.role(), reason = %why, "actor stopped unexpectedly; restarting it");
            state.live.retain(|(i, _)| *i != index);
            state.schedule_restart(&me, child);
        }
        Ok(())
    }
}

/// Handle on the running tree (from [`Tree::start`]).
#[derive(Clone)]
pub struct SupervisorHandle {
    slot: Slot<RootMsg>,
}

impl SupervisorHandle {
    pub async fn shutdown(&self) -> Result<(), ActorError> {
        self.slot
            .call_within(RootMsg::Shutdown, SHUTDOWN_BUDGET)
            .await
    }

    pub async fn restarts(&self) -> Result<Vec<(Child, u32)>, ActorError> {
        self.slot.call(RootMsg::Restarts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::START_WAIT;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    /// Answers `Ping` with which incarnation it is (1 for the first start).
    struct Echo;

    enum EchoMsg {
        Ping(RpcReplyPort<u32>),
    }

    impl Actor for Echo {
        type Msg = EchoMsg;
        type State = u32;
        type Arguments = Arc<AtomicU32>;

        async fn pre_start(
            &self,
            _me: ActorRef<EchoMsg>,
            starts: Arc<AtomicU32>,
        ) -> Result<u32, ActorProcessingErr> {
            Ok(starts.fetch_add(1, Ordering::SeqCst) + 1)
        }

        async fn handle(
            &self,
            _me: ActorRef<EchoMsg>,
            msg: EchoMsg,
            incarnation: &mut u32,
        ) -> Result<(), ActorProcessingErr> {
            let EchoMsg::Ping(reply) = msg;
            let _ = reply.send(*incarnation);
            Ok(())
        }
    }

    fn instance() -> String {
        format!("test-{}", uuid::Uuid::new_v4().simple())
    }

    fn echo_tree() -> (Tree, Slot<EchoMsg>) {
        let mut tree = Tree::new(instance());
        let stop = Stop::Within(Duration::from_secs(1));
        let echo = tree.child(ActorName::Store, || Echo, Arc::default(), stop);
        (tree, echo)
    }

    #[tokio::test]
    async fn a_handle_used_right_after_a_crash_is_answered_by_the_restarted_child() {
        let (tree, echo) = echo_tree();
        let (supervisor, join) = tree.start().await.expect("the tree starts");
        assert_eq!(echo.call(EchoMsg::Ping).await.expect("first"), 1);
        let first = echo.get().expect("running");
        first
            .kill_and_wait(Some(Duration::from_secs(1)))
            .await
            .expect("killed");
        let killed = Instant::now();
        assert!(echo.get().is_none(), "not restarted yet (the backoff runs)");
        // No sleep, no retry: the call waits for the restart and is answered by it.
        let answer = echo
            .call(EchoMsg::Ping)
            .await
            .expect("answered after the restart");
        assert_eq!(answer, 2, "the new incarnation answered");
        assert!(killed.elapsed() < START_WAIT, "{:?}", killed.elapsed());
        let restarts = supervisor.restarts().await.expect("restart counts");
        assert_eq!(restarts, vec![(Child::Store, 1)]);
        supervisor.shutdown().await.expect("shutdown");
        let _ = join.await;
        // The supervisor is gone: nothing will start the child again, and the handle says so
        // at once instead of waiting out START_WAIT.
        let asked = Instant::now();
        assert!(echo.call(EchoMsg::Ping).await.is_err());
        assert!(asked.elapsed() < START_WAIT / 2, "{:?}", asked.elapsed());
    }

    #[tokio::test]
    async fn a_waiting_handle_wakes_on_the_start_signal_and_does_not_poll() {
        let name = ActorName::Store.registered(&instance());
        let (slot, started) = Slot::<EchoMsg>::registered(name.clone());
        let waiter = tokio::spawn({
            let slot = slot.clone();
            async move { slot.wait().await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        // Registered behind the signal's back: a polling wait would find it within 10 ms.
        let (actor, handle) = Actor::spawn(Some(name), Echo, Arc::default())
            .await
            .expect("spawned");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished(), "the wait only ends on the signal");
        let signalled = Instant::now();
        started.send_modify(|generation| *generation += 1);
        waiter
            .await
            .expect("joined")
            .expect("found after the signal");
        assert!(signalled.elapsed() < Duration::from_millis(500));
        actor.stop(None);
        let _ = handle.await;
    }

    #[tokio::test]
    async fn two_children_with_one_name_are_refused() {
        let (mut tree, _echo) = echo_tree();
        let stop = Stop::Within(Duration::from_secs(1));
        let _twin = tree.child(ActorName::Store, || Echo, Arc::default(), stop);
        assert!(matches!(
            tree.start().await,
            Err(TreeError::Duplicate("store"))
        ));
    }

    /// Notes its name in a shared log when it stops.
    struct Recorder;

    type StopLog = Arc<std::sync::Mutex<Vec<&'static str>>>;

    impl Actor for Recorder {
        type Msg = ();
        type State = (&'static str, StopLog);
        type Arguments = (&'static str, StopLog);

        async fn pre_start(
            &self,
            _me: ActorRef<()>,
            args: (&'static str, StopLog),
        ) -> Result<Self::State, ActorProcessingErr> {
            Ok(args)
        }

        async fn post_stop(
            &self,
            _me: ActorRef<()>,
            (name, log): &mut Self::State,
        ) -> Result<(), ActorProcessingErr> {
            log.lock().expect("log").push(name);
            Ok(())
        }
    }

    #[tokio::test]
    async fn shutdown_stops_the_children_in_the_reverse_of_their_start_order() {
        let log = StopLog::default();
        let mut tree = Tree::new(instance());
        let limit = Duration::from_secs(1);
        let store = ("store", log.clone());
        tree.child(ActorName::Store, || Recorder, store, Stop::Drain(limit));
        let router = ("router", log.clone());
        tree.child(ActorName::Router, || Recorder, router, Stop::Within(limit));
        let job = ("job", log.clone());
        tree.child(ActorName::Job("job"), || Recorder, job, Stop::Within(limit));
        let (supervisor, join) = tree.start().await.expect("the tree starts");
        supervisor.shutdown().await.expect("shutdown");
        let _ = join.await;
        assert_eq!(*log.lock().expect("log"), vec!["job", "router", "store"]);
    }
}
