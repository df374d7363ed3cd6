//! The actor tree (ractor). `RootSupervisor` starts and restarts every child; each actor
//! file holds its message enum, the empty actor struct, its state and a typed handle.
//!
//! Handles find their actor by registered name rather than holding an `ActorRef`, so a
//! handle taken before a crash keeps working once the supervisor has restarted the child.
//! Names carry a per-instance prefix so several bots can run in one test process. A
//! [`Slot`] is only made by the supervisor's [`supervisor::Tree`] when a child is
//! registered, from the actor type it spawns under that name: the name and the message
//! type cannot disagree, and the supervisor signals the slot each time it (re)spawns the
//! child, so a caller waiting on a restart wakes when it happens instead of polling.

pub mod conversation;
pub mod gateway;
pub mod jobs;
pub mod periodic;
pub mod router;
pub mod store;
pub mod supervisor;

use ractor::{ActorRef, Message};
use std::marker::PhantomData;
use std::time::Duration;
use tokio::sync::watch;

/// Default deadline for a request/reply between actors.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a handle waits for its actor to be (re)started before it gives up: longer
/// than the supervisor's first restart backoff, short enough not to stall a caller.
pub const START_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error("actor {0} is not running")]
    Gone(String),
    #[error("actor {0} did not answer in time")]
    Timeout(String),
}

/// Every long-lived actor of the tree: the one place their registered names come from.
/// A periodic job is named by its step (`PeriodicStep::ROLE`), so adding one adds no
/// variant here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorName {
    Root,
    Store,
    Router,
    Gateway,
    Job(&'static str),
}

impl ActorName {
    pub fn role(self) -> &'static str {
        match self {
            ActorName::Root => "root",
            ActorName::Store => "store",
            ActorName::Router => "router",
            ActorName::Gateway => "gateway",
            ActorName::Job(role) => role,
        }
    }

    /// The registered name of this actor in one bot instance.
    pub fn registered(self, instance: &str) -> String {
        format!("{instance}:{}", self.role())
    }
}

/// A registered actor, resolved on every use, with the supervisor's "(re)started" signal.
pub struct Slot<M> {
    name: String,
    /// Bumped by the supervisor after each spawn of this actor; closed when it stops for good.
    started: watch::Receiver<u64>,
    _msg: PhantomData<fn() -> M>,
}

impl<M> Clone for Slot<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            started: self.started.clone(),
            _msg: PhantomData,
        }
    }
}

impl<M: Message> Slot<M> {
    /// A slot for `name` and the sender its spawner signals. Only the supervisor calls
    /// this, with the name it spawns `M`'s actor under.
    pub(crate) fn registered(name: String) -> (Self, watch::Sender<u64>) {
        let (started, receiver) = watch::channel(0);
        let slot = Self {
            name,
            started: receiver,
            _msg: PhantomData,
        };
        (slot, started)
    }

    pub fn get(&self) -> Option<ActorRef<M>> {
        ActorRef::<M>::where_is(self.name.clone())
    }

    /// The actor, waiting up to [`START_WAIT`] while a supervisor is (re)starting it: the
    /// wait ends on the supervisor's signal, not on a timer.
    pub async fn wait(&self) -> Result<ActorRef<M>, ActorError> {
        if let Some(actor) = self.get() {
            return Ok(actor);
        }
        let mut started = self.started.clone();
        let deadline = tokio::time::Instant::now() + START_WAIT;
        loop {
            // Marked seen before looking, so a spawn that lands after the look still wakes us.
            started.borrow_and_update();
            if let Some(actor) = self.get() {
                return Ok(actor);
            }
            match tokio::time::timeout_at(deadline, started.changed()).await {
                Ok(Ok(())) => {}
                // Timed out, or the supervisor is gone (nothing will start it again).
                Ok(Err(_)) | Err(_) => return Err(ActorError::Gone(self.name.clone())),
            }
        }
    }

    /// Fire-and-forget, surviving a restart of the target.
    pub async fn cast(&self, msg: M) -> Result<(), ActorError> {
        let actor = self.wait().await?;
        actor
            .cast(msg)
            .map_err(|_| ActorError::Gone(self.name.clone()))
    }

    /// Request/reply with the default deadline.
    pub async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(ractor::RpcReplyPort<T>) -> M,
    ) -> Result<T, ActorError> {
        self.call_within(build, CALL_TIMEOUT).await
    }

    pub async fn call_within<T: Send + 'static>(
        &self,
        build: impl FnOnce(ractor::RpcReplyPort<T>) -> M,
        timeout: Duration,
    ) -> Result<T, ActorError> {
        let actor = self.wait().await?;
        match actor.call(build, Some(timeout)).await {
            Ok(ractor::rpc::CallResult::Success(value)) => Ok(value),
            Ok(ractor::rpc::CallResult::Timeout) => Err(ActorError::Timeout(self.name.clone())),
            Ok(ractor::rpc::CallResult::SenderError) | Err(_) => {
                Err(ActorError::Gone(self.name.clone()))
            }
        }
    }
}
