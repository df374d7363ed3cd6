//! The actor tree (ractor). `RootSupervisor` starts and restarts every child; each actor
//! file holds its message enum, the empty actor struct, its state and a typed handle.
//!
//! Handles find their actor by registered name rather than holding an `ActorRef`, so a
//! handle taken before a crash keeps working once the supervisor has restarted the child.
//! Names carry a per-instance prefix so several bots can run in one test process.

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

/// Default deadline for a request/reply between actors.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error("actor {0} is not running")]
    Gone(String),
    #[error("actor {0} did not answer in time")]
    Timeout(String),
}

/// Every long-lived actor of the tree: the one place their registered names come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorName {
    Root,
    Store,
    Router,
    NewDay,
    Consolidator,
    Proactive,
    BanLifter,
    Gateway,
}

impl ActorName {
    pub fn role(self) -> &'static str {
        match self {
            ActorName::Root => "root",
            ActorName::Store => "store",
            ActorName::Router => "router",
            ActorName::NewDay => "status",
            ActorName::Consolidator => "consolidator",
            ActorName::Proactive => "proactive",
            ActorName::BanLifter => "ban_lifter",
            ActorName::Gateway => "gateway",
        }
    }

    /// The registered name of this actor in one bot instance.
    pub fn registered(self, instance: &str) -> String {
        format!("{instance}:{}", self.role())
    }
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
    pub fn new(instance: &str, actor: ActorName) -> Self {
        Self {
            name: actor.registered(instance),
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
