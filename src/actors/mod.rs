//! The actor tree (ractor). `RootSupervisor` starts and restarts every child; each actor
//! file holds its message enum, the empty actor struct, its state and a typed handle.
//!
//! Handles find their actor by registered name rather than holding an `ActorRef`, so a
//! handle taken before a crash keeps working once the supervisor has restarted the child.
//! Names carry a per-instance prefix so several bots can run in one test process.

pub mod consolidator;
pub mod conversation;
pub mod gateway;
pub mod moderation;
pub mod proactive;
pub mod router;
pub mod status;
pub mod store;
pub mod supervisor;

use ractor::{ActorRef, Message};
use std::marker::PhantomData;
use std::time::Duration;

/// Default deadline for a request/reply between actors.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error("actor {0} is not running")]
    Gone(String),
    #[error("actor {0} did not answer in time")]
    Timeout(String),
}

/// A registered actor name, resolved on every use.
pub struct Slot<M> {
    name: String,
    _msg: PhantomData<fn() -> M>,
}

impl<M> Clone for Slot<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            _msg: PhantomData,
        }
    }
}

impl<M: Message> Slot<M> {
    pub fn new(instance: &str, role: &str) -> Self {
        Self {
            name: format!("{instance}:{role}"),
            _msg: PhantomData,
        }
    }

    pub fn get(&self) -> Option<ActorRef<M>> {
        ActorRef::<M>::where_is(self.name.clone())
    }

    /// Waits briefly for the actor, covering the moment a supervisor is restarting it.
    pub async fn wait(&self) -> Result<ActorRef<M>, ActorError> {
        for _ in 0..200 {
            if let Some(actor) = self.get() {
                return Ok(actor);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(ActorError::Gone(self.name.clone()))
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

/// One background job at a time, with everyone who asked for it waiting on its result.
/// Used by the scheduler actors: a request during a run joins that run.
pub struct SingleFlight<T> {
    running: bool,
    waiters: Vec<ractor::RpcReplyPort<T>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        Self {
            running: false,
            waiters: Vec::new(),
        }
    }
}

impl<T: Clone + Send + 'static> SingleFlight<T> {
    /// Registers a request; true when the caller should start a new run.
    pub fn join(&mut self, reply: Option<ractor::RpcReplyPort<T>>) -> bool {
        self.waiters.extend(reply);
        !std::mem::replace(&mut self.running, true)
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The run ended: answers every waiter.
    pub fn finish(&mut self, result: T) {
        self.running = false;
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}
