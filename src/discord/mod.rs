//! The Discord adapter: the only module that knows serenity and poise.
//!
//! The REST base URL is a setting, so the same code path serves Discord, a proxy, or the
//! project's fake Discord in tests and the sandbox. serenity's ratelimiter ignores a custom
//! base URL, so it is turned off when one is set (see shared notes, "offline-discord").

pub mod backfill;
pub mod commands;
pub mod convert;
pub mod events;
pub mod gateway;
pub mod rest_chat;

pub use rest_chat::DiscordChat;

use crate::config::Settings;
use secrecy::{ExposeSecret, SecretString};
use serenity::all::{Client, ClientBuilder, CreateAllowedMentions, GatewayIntents, HttpBuilder};

/// What the bot asks Discord to send it. GUILD_MEMBERS and MESSAGE_CONTENT are privileged:
/// enable them for the application in the Discord developer portal.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_EMOJIS_AND_STICKERS
        | GatewayIntents::GUILD_MODERATION
}

/// Builds the serenity client with our event handler and the poise framework.
pub async fn build_client(
    settings: &Settings,
    token: &SecretString,
    events: events::GatewayEvents,
    commands: commands::CommandDeps,
) -> Result<Client, serenity::Error> {
    let mut http = HttpBuilder::new(token.expose_secret())
        // No pings unless a message says otherwise (model text may contain @everyone).
        .default_allowed_mentions(CreateAllowedMentions::new());
    if settings.discord.is_custom_base() {
        http = http
            .proxy(settings.discord.api_base.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    ClientBuilder::new_with_http(http.build(), intents())
        .event_handler(events)
        .framework(commands::traced::TracedCommands(commands::framework(
            commands,
        )))
        .await
}
