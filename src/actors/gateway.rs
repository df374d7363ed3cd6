//! Gateway: runs the chat platform's live connection (Discord's gateway, through the
//! `ChatGateway` port) as a supervised actor.
//!
//! serenity reconnects and resumes on its own; if the connection ever ends, this actor
//! fails and the supervisor connects again, unless the platform refused the bot for good
//! (bad token, intents), which no restart fixes: that is reported once on `fatal`.

use crate::ports::{ChatGateway, ConnectionEnd};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::sync::Arc;

#[derive(Clone)]
pub struct GatewayArgs {
    pub connection: Arc<dyn ChatGateway>,
    /// Set when the platform refuses the bot for good.
    pub fatal: tokio::sync::watch::Sender<Option<String>>,
}

pub enum GatewayMsg {
    /// The connection ended.
    ConnectionEnded(ConnectionEnd),
}

pub struct Gateway;

pub struct GatewayState {
    args: GatewayArgs,
    runner: tokio::task::JoinHandle<()>,
}

impl Actor for Gateway {
    type Msg = GatewayMsg;
    type State = GatewayState;
    type Arguments = GatewayArgs;

    async fn pre_start(
        &self,
        me: ActorRef<GatewayMsg>,
        args: GatewayArgs,
    ) -> Result<GatewayState, ActorProcessingErr> {
        let connection = args.connection.clone();
        let runner = tokio::spawn(async move {
            let end = connection.run().await;
            let _ = me.cast(GatewayMsg::ConnectionEnded(end));
        });
        Ok(GatewayState { args, runner })
    }

    async fn handle(
        &self,
        _me: ActorRef<GatewayMsg>,
        msg: GatewayMsg,
        state: &mut GatewayState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            GatewayMsg::ConnectionEnded(ConnectionEnd::Refused(why)) => {
                tracing::error!("{why}");
                let _ = state.args.fatal.send(Some(why));
                Ok(())
            }
            GatewayMsg::ConnectionEnded(ConnectionEnd::Dropped(why)) => {
                Err(format!("Discord client stopped: {why}").into())
            }
        }
    }

    async fn post_stop(
        &self,
        _me: ActorRef<GatewayMsg>,
        state: &mut GatewayState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.connection.stop().await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut state.runner).await;
        state.runner.abort();
        Ok(())
    }
}
