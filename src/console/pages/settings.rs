//! Per-server and per-channel switches (the bot on or off, proactive posts, memory), each
//! with its effective value and where that comes from (the channel, the server, or the
//! settings file), changed through the `/bot` requests; channel actors are told to read
//! their policy again, as `/bot` does.

use super::{Page, Running, back};
use crate::console::view;
use crate::domain::{ChannelId, GuildId};
use axum::Form;
use axum::extract::Path;
use serde::{Deserialize, Serialize};

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

pub async fn show(
    Running {
        shared,
        session,
        bot,
    }: Running,
) -> Page {
    let servers = bot.store.known_servers().await?;
    let default = bot.settings.bot.enabled_by_default;
    let mut rows = Vec::new();
    for guild in servers {
        let switches = bot.store.server_switches(guild).await?;
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
    Ok(shared.pages.render(
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
    ))
}

#[derive(Deserialize)]
pub struct Switches {
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    memory: String,
}

pub async fn save(
    Running { bot, .. }: Running,
    Path(guild): Path<u64>,
    Form(form): Form<Switches>,
) -> Page {
    let guild = GuildId(guild);
    bot.store
        .set_guild_enabled(guild, form.enabled == "on")
        .await?;
    bot.store
        .set_guild_memory(guild, form.memory == "on")
        .await?;
    bot.router.policy_changed(None).await;
    Ok(back("/settings"))
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
    Running { bot, .. }: Running,
    Path((guild, channel)): Path<(u64, u64)>,
    Form(form): Form<ChannelForm>,
) -> Page {
    let (guild, channel) = (Some(GuildId(guild)), ChannelId(channel));
    let enabled = match form.enabled.as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    };
    bot.store
        .set_channel_enabled(guild, channel, enabled)
        .await?;
    let proactive = form.proactive == "on";
    bot.store
        .set_channel_proactive(guild, channel, proactive)
        .await?;
    bot.router.policy_changed(Some(channel)).await;
    Ok(back("/settings"))
}
