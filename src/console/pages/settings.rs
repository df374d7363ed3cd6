//! Per-server and per-channel switches (the bot on or off, proactive posts, memory), each
//! with its effective value and where that comes from (the channel, the server, or the
//! settings file), changed through the `/bot` requests; channel actors are told to read
//! their policy again, as `/bot` does.

use super::{back, running, store_error};
use crate::console::auth::Authed;
use crate::console::state::Shared;
use crate::console::view;
use crate::domain::{ChannelId, GuildId};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize)]
struct ChannelRow {
    id: u64,
    /// "inherit", "on" or "off".
    own: &'static str,
    enabled: bool,
    source: &'static str,
    proactive: bool,
}

#[derive(Serialize)]
struct ServerRow {
    id: u64,
    own: &'static str,
    enabled: bool,
    source: &'static str,
    memory: bool,
    memory_source: &'static str,
    channels: Vec<ChannelRow>,
}

fn own(value: Option<bool>) -> &'static str {
    match value {
        None => "inherit",
        Some(true) => "on",
        Some(false) => "off",
    }
}

pub async fn show(State(shared): State<Arc<Shared>>, Authed(session): Authed) -> Response {
    let bot = match running(&shared, &session) {
        Ok(bot) => bot,
        Err(page) => return page,
    };
    let servers = match bot.store.known_servers().await {
        Ok(servers) => servers,
        Err(error) => return store_error(&shared, &session, &error),
    };
    let default = bot.settings.bot.enabled_by_default;
    let mut rows = Vec::new();
    for guild in servers {
        let switches = match bot.store.server_switches(guild).await {
            Ok(switches) => switches,
            Err(error) => return store_error(&shared, &session, &error),
        };
        let enabled = switches.enabled.unwrap_or(default);
        let server_source = if switches.enabled.is_some() {
            "server setting"
        } else {
            "settings.yaml default"
        };
        let channels = switches
            .channels
            .iter()
            .map(|c| ChannelRow {
                id: c.channel.0,
                own: own(c.enabled),
                enabled: c.enabled.unwrap_or(enabled),
                source: if c.enabled.is_some() {
                    "channel setting"
                } else {
                    "from the server"
                },
                proactive: c.proactive,
            })
            .collect();
        rows.push(ServerRow {
            id: guild.0,
            own: own(switches.enabled),
            enabled,
            source: server_source,
            memory: switches.memory.unwrap_or(true),
            memory_source: if switches.memory.is_some() {
                "server setting"
            } else {
                "default (on)"
            },
            channels,
        });
    }
    shared.pages.render(
        "settings.html",
        &view::Frame::new(&session, "Settings", "settings"),
        minijinja::context! {
            servers => rows,
            enabled_by_default => default,
            budget_global => bot.settings.budget.global,
            budget_server => bot.settings.budget.server,
            budget_member => bot.settings.budget.member,
            user_rate => bot.settings.bot.user_replies_per_minute,
            channel_rate => bot.settings.bot.channel_replies_per_minute,
        },
    )
}

#[derive(Deserialize)]
pub struct Switches {
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    memory: String,
}

pub async fn save(
    State(shared): State<Arc<Shared>>,
    Authed(session): Authed,
    Path(guild): Path<u64>,
    Form(form): Form<Switches>,
) -> Response {
    let bot = match running(&shared, &session) {
        Ok(bot) => bot,
        Err(page) => return page,
    };
    let guild = GuildId(guild);
    if let Err(error) = bot
        .store
        .set_guild_enabled(guild, form.enabled == "on")
        .await
    {
        return store_error(&shared, &session, &error);
    }
    if let Err(error) = bot.store.set_guild_memory(guild, form.memory == "on").await {
        return store_error(&shared, &session, &error);
    }
    bot.router.policy_changed(None).await;
    back("/settings")
}

#[derive(Deserialize)]
pub struct ChannelForm {
    /// "inherit", "on" or "off".
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    proactive: String,
}

pub async fn save_channel(
    State(shared): State<Arc<Shared>>,
    Authed(session): Authed,
    Path((guild, channel)): Path<(u64, u64)>,
    Form(form): Form<ChannelForm>,
) -> Response {
    let bot = match running(&shared, &session) {
        Ok(bot) => bot,
        Err(page) => return page,
    };
    let (guild, channel) = (Some(GuildId(guild)), ChannelId(channel));
    let enabled = match form.enabled.as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    };
    if let Err(error) = bot.store.set_channel_enabled(guild, channel, enabled).await {
        return store_error(&shared, &session, &error);
    }
    let proactive = form.proactive == "on";
    if let Err(error) = bot
        .store
        .set_channel_proactive(guild, channel, proactive)
        .await
    {
        return store_error(&shared, &session, &error);
    }
    bot.router.policy_changed(Some(channel)).await;
    back("/settings")
}
