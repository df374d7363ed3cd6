//! Gateway: owns the serenity client (the Discord connection) as a supervised actor.
//!
//! serenity reconnects and resumes on its own; if its runner ever returns, this actor
//! fails and the supervisor builds a fresh client.

use crate::actors::conversation::BotIdentity;
use crate::actors::router::RouterHandle;
use crate::actors::status::StatusHandle;
use crate::actors::store::StoreHandle;
use crate::config::Settings;
use crate::discord::{self, DiscordChat, commands::CommandDeps, events::GatewayEvents};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use secrecy::SecretString;
use serenity::all::ShardManager;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct GatewayArgs {
    pub settings: Arc<Settings>,
    pub token: SecretString,
    pub router: RouterHandle,
    pub store: StoreHandle,
    pub status: StatusHandle,
    pub chat: Arc<DiscordChat>,
    pub bot: Arc<RwLock<Option<BotIdentity>>>,
    pub ready: tokio::sync::watch::Sender<bool>,
    /// Set when Discord refuses the bot for good (bad token, intents not enabled).
    pub fatal: tokio::sync::watch::Sender<Option<String>>,
    pub started_at: chrono::DateTime<chrono::Utc>,
}

pub enum GatewayMsg {
    /// serenity's runner returned (it only does on an error or shutdown).
    ClientStopped(Option<serenity::Error>),
}

/// Errors no restart can fix: the operator has to change the token or the portal settings.
fn needs_operator(error: &serenity::Error) -> Option<&'static str> {
    use serenity::all::GatewayError;
    match error {
        serenity::Error::Gateway(GatewayError::InvalidAuthentication) => {
            Some("Discord rejected the bot token (PERSONABOT__DISCORD__TOKEN)")
        }
        serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents) => Some(
            "Discord refused the gateway intents: enable Message Content and Server Members for the application in the developer portal",
        ),
        serenity::Error::Gateway(GatewayError::InvalidGatewayIntents) => {
            Some("Discord refused the gateway intents as invalid")
        }
        _ => None,
    }
}

pub struct Gateway;

pub struct GatewayState {
    fatal: tokio::sync::watch::Sender<Option<String>>,
    shards: Arc<ShardManager>,
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
        let events = GatewayEvents {
            router: args.router.clone(),
            store: args.store.clone(),
            status: args.status.clone(),
            chat: args.chat.clone(),
            bot: args.bot.clone(),
            ready: args.ready.clone(),
        };
        let commands = CommandDeps {
            store: args.store.clone(),
            settings: args.settings.clone(),
            started_at: args.started_at,
        };
        let mut client =
            discord::build_client(&args.settings, &args.token, events, commands).await?;
        args.chat.attach(client.http.clone(), client.cache.clone());
        let shards = client.shard_manager.clone();
        let runner = tokio::spawn(async move {
            let outcome = client.start().await;
            let _ = me.cast(GatewayMsg::ClientStopped(outcome.err()));
        });
        Ok(GatewayState {
            fatal: args.fatal.clone(),
            shards,
            runner,
        })
    }

    async fn handle(
        &self,
        _me: ActorRef<GatewayMsg>,
        msg: GatewayMsg,
        state: &mut GatewayState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            GatewayMsg::ClientStopped(Some(error)) if needs_operator(&error).is_some() => {
                let why = needs_operator(&error).unwrap_or_default();
                tracing::error!(%error, "{why}");
                let _ = state.fatal.send(Some(why.to_owned()));
                Ok(())
            }
            GatewayMsg::ClientStopped(reason) => Err(format!(
                "Discord client stopped: {}",
                reason
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "no reason given".into())
            )
            .into()),
        }
    }

    async fn post_stop(
        &self,
        _me: ActorRef<GatewayMsg>,
        state: &mut GatewayState,
    ) -> Result<(), ActorProcessingErr> {
        state.shards.shutdown_all().await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut state.runner).await;
        state.runner.abort();
        Ok(())
    }
}
