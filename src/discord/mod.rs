//! The Discord adapter: the only module that knows serenity and poise.
//!
//! The REST base URL is a setting, so the same code path serves Discord, a proxy, or the
//! project's fake Discord in tests and the sandbox. serenity's ratelimiter ignores a custom
//! base URL, so it is turned off when one is set (see shared notes, "offline-discord"): then
//! the proxy does the limiting. With the real base, the ratelimiter is on; `connect_to` and
//! `extra_root_ca` let that path reach a relay (or, in the tests, the fake over TLS, so 429
//! handling is exercised by serenity's real ratelimiter).

pub mod backfill;
pub mod commands;
pub mod convert;
pub mod events;
pub mod gateway;
pub mod rest_chat;
pub mod shard_watch;

pub use rest_chat::DiscordChat;

use crate::config::{Settings, ShardCount};
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
) -> Result<Client, ClientError> {
    let http = http_builder(settings, token)?
        // No pings unless a message says otherwise (model text may contain @everyone).
        .default_allowed_mentions(CreateAllowedMentions::new());
    Ok(ClientBuilder::new_with_http(http.build(), intents())
        .event_handler(events)
        .framework(commands::traced::TracedCommands(commands::framework(
            commands,
        )))
        .await?)
}

/// Turns `discord.shard_count: auto` into Discord's recommendation, once at start; a
/// process that does not connect (maintenance) counts as one shard running everything.
pub async fn resolve_shard_count(
    settings: &mut Settings,
    connects: bool,
) -> Result<(), ClientError> {
    if settings.discord.shard_count != ShardCount::Auto {
        return Ok(());
    }
    let count = match (&settings.discord.token, connects) {
        (Some(token), true) => recommended_shards(settings, token).await?,
        _ => {
            settings.discord.shards = String::new();
            1
        }
    };
    settings.discord.shard_count = ShardCount::Fixed(count);
    Ok(())
}

/// Discord's REST client as the settings route it: through a custom API base (a proxy or
/// the fake, which does the rate limiting), or a TLS relay for `discord.com`.
fn http_builder(settings: &Settings, token: &SecretString) -> Result<HttpBuilder, RelayError> {
    let http = HttpBuilder::new(token.expose_secret());
    if settings.discord.is_custom_base() {
        Ok(http
            .proxy(settings.discord.api_base.trim_end_matches('/'))
            .ratelimiter_disabled(true))
    } else if let Some(client) = relay_client(settings)? {
        Ok(http.client(client))
    } else {
        Ok(http)
    }
}

/// How many shards Discord recommends for the bot (`GET /gateway/bot`), for
/// `discord.shard_count: auto`.
pub async fn recommended_shards(
    settings: &Settings,
    token: &SecretString,
) -> Result<u32, ClientError> {
    let gateway = http_builder(settings, token)?
        .build()
        .get_bot_gateway()
        .await?;
    tracing::info!(
        shards = gateway.shards,
        max_concurrency = gateway.session_start_limit.max_concurrency,
        "Discord's recommended shard count"
    );
    Ok(gateway.shards.max(1))
}

/// Why the serenity client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The operator's relay settings are wrong: retrying will not help.
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error(transparent)]
    Serenity(#[from] serenity::Error),
}

/// Why the Discord HTTP client could not be set up from `connect_to` / `extra_root_ca`.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("discord.connect_to `{0}` is not host:port")]
    Address(String),
    #[error("cannot read discord.extra_root_ca `{path}`: {source}")]
    ReadCa {
        path: String,
        source: std::io::Error,
    },
    #[error("discord.extra_root_ca `{path}` is not a PEM certificate: {source}")]
    BadCa {
        path: String,
        source: reqwest012::Error,
    },
    #[error("cannot build the Discord HTTP client: {0}")]
    Build(reqwest012::Error),
}

/// The HTTP client for `discord.com` when it must reach a relay; `None` for plain DNS and
/// the system's roots (serenity's own client).
fn relay_client(settings: &Settings) -> Result<Option<reqwest012::Client>, RelayError> {
    let discord = &settings.discord;
    if discord.connect_to.is_empty() && discord.extra_root_ca.is_empty() {
        return Ok(None);
    }
    let mut builder = reqwest012::Client::builder().use_rustls_tls();
    if !discord.connect_to.is_empty() {
        let addr: std::net::SocketAddr = discord
            .connect_to
            .parse()
            .map_err(|_| RelayError::Address(discord.connect_to.clone()))?;
        builder = builder.resolve("discord.com", addr);
    }
    if !discord.extra_root_ca.is_empty() {
        let path = discord.extra_root_ca.clone();
        let pem = std::fs::read(&path).map_err(|source| RelayError::ReadCa {
            path: path.clone(),
            source,
        })?;
        let ca = reqwest012::Certificate::from_pem(&pem)
            .map_err(|source| RelayError::BadCa { path, source })?;
        builder = builder.add_root_certificate(ca);
    }
    builder.build().map(Some).map_err(RelayError::Build)
}
