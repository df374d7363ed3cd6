//! The Discord side of the `ChatGateway` port: builds the serenity client (with poise for
//! slash commands) on each connect, runs it, and sorts how it ended.

use super::events::GatewayEvents;
use super::{DiscordChat, build_client, commands::CommandDeps};
use crate::config::Settings;
use crate::ports::{ChatGateway, ConnectionEnd};
use async_trait::async_trait;
use secrecy::SecretString;
use serenity::all::ShardManager;
use std::sync::{Arc, Mutex};

pub struct DiscordGateway {
    pub settings: Arc<Settings>,
    pub token: SecretString,
    pub events: GatewayEvents,
    pub commands: CommandDeps,
    pub chat: Arc<DiscordChat>,
    shards: Mutex<Option<Arc<ShardManager>>>,
}

impl DiscordGateway {
    pub fn new(
        settings: Arc<Settings>,
        token: SecretString,
        events: GatewayEvents,
        commands: CommandDeps,
        chat: Arc<DiscordChat>,
    ) -> Self {
        Self {
            settings,
            token,
            events,
            commands,
            chat,
            shards: Mutex::new(None),
        }
    }
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

#[async_trait]
impl ChatGateway for DiscordGateway {
    async fn run(&self) -> ConnectionEnd {
        let client = build_client(
            &self.settings,
            &self.token,
            self.events.clone(),
            self.commands.clone(),
        )
        .await;
        let mut client = match client {
            Ok(client) => client,
            Err(super::ClientError::Relay(error)) => {
                return ConnectionEnd::Refused(error.to_string());
            }
            Err(error) => return ConnectionEnd::Dropped(error.to_string()),
        };
        self.chat.attach(client.http.clone(), client.cache.clone());
        if let Ok(mut shards) = self.shards.lock() {
            *shards = Some(client.shard_manager.clone());
        }
        super::shard_watch::spawn(&client.shard_manager, self.events.vitals.clone());
        // `start` runs shard 0 of 1.
        self.events.vitals.expect_shards([0]);
        let ended = client.start().await;
        self.events.vitals.gateway_lost();
        match ended {
            Ok(()) => ConnectionEnd::Dropped("no reason given".into()),
            Err(error) => match needs_operator(&error) {
                Some(why) => ConnectionEnd::Refused(format!("{why} ({error})")),
                None => ConnectionEnd::Dropped(error.to_string()),
            },
        }
    }

    async fn stop(&self) {
        let shards = self.shards.lock().ok().and_then(|mut s| s.take());
        if let Some(shards) = shards {
            shards.shutdown_all().await;
        }
    }
}
