//! Per-server switches (the bot on or off, memory on or off) with their effective values,
//! changed through the `/bot enable|disable` and `/bot memory` requests; channel actors
//! are told to read their policy again, as `/bot` does.

use super::{back, running, store_error};
use crate::console::auth::Authed;
use crate::console::state::Shared;
use crate::console::view;
use crate::domain::{ChannelId, ChannelPolicy, GuildId};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize)]
struct ServerSettings {
    id: u64,
    enabled: bool,
    memory: bool,
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
    let switches = bot.store.memory_switches().await.unwrap_or_default();
    let default = ChannelPolicy {
        bot_enabled: bot.settings.bot.enabled_by_default,
        ..ChannelPolicy::default()
    };
    let mut rows = Vec::new();
    for guild in servers {
        // A channel with no setting of its own shows the server's effective value.
        let policy = bot
            .store
            .channel_policy(Some(guild), ChannelId(0), default.clone())
            .await
            .unwrap_or_else(|_| default.clone());
        rows.push(ServerSettings {
            id: guild.0,
            enabled: policy.bot_enabled,
            memory: !switches.servers_off.contains(&guild),
        });
    }
    shared.pages.render(
        "settings.html",
        &view::Frame::new(&session, "Settings", "settings"),
        minijinja::context! {
            servers => rows,
            enabled_by_default => bot.settings.bot.enabled_by_default,
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
