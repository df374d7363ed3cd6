//! /admin state list|get|set|delete: named values. Each server has keys of its own (its
//! admins); bot-wide keys (the mood dimensions, counters, the status line) are read by
//! every server and changed by bot owners only (`bot-wide: true`).

use crate::discord::commands::{Context, Error, UserError, checks, clip, embed, reply_private};
use crate::domain::{GuildId, StateEntry, StateScope};

/// Named values: this server's, or the bot-wide mood, counters and status line
#[poise::command(
    slash_command,
    guild_only,
    subcommands("state_list", "state_get", "state_set", "state_delete")
)]
pub async fn state(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Which keys a command reads: this server's, or the bot-wide ones. Reading bot-wide keys
/// is open to any server admin (they are what the bot's mood is made of); `write` needs a
/// bot owner for them.
fn scope(ctx: Context<'_>, bot_wide: Option<bool>, write: bool) -> Result<StateScope, Error> {
    checks::require_admin(ctx)?;
    if bot_wide.unwrap_or(false) {
        if write {
            checks::require_owner(ctx)?;
        }
        Ok(StateScope::BotWide)
    } else {
        Ok(StateScope::Server(GuildId(checks::guild_id(ctx)?.get())))
    }
}

fn title(scope: StateScope) -> &'static str {
    match scope {
        StateScope::BotWide => "Bot-wide state",
        StateScope::Server(_) => "Server state",
    }
}

fn state_line(s: &StateEntry) -> String {
    let value = s.value.map_or_else(|| "—".to_owned(), |v| v.to_string());
    match &s.text {
        Some(t) => format!("`{}` = **{value}** · “{}”", s.key, clip(t, 200)),
        None => format!("`{}` = **{value}**", s.key),
    }
}

/// List the state keys of this server (or the bot-wide ones)
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn state_list(
    ctx: Context<'_>,
    #[description = "The bot-wide keys (mood, status line) instead of this server's"]
    #[rename = "bot-wide"]
    bot_wide: Option<bool>,
) -> Result<(), Error> {
    let scope = scope(ctx, bot_wide, false)?;
    let entries = ctx.data().store.list_state(scope).await?;
    let text = if entries.is_empty() {
        "No keys yet.".to_owned()
    } else {
        clip(
            &entries
                .iter()
                .map(state_line)
                .collect::<Vec<_>>()
                .join("\n"),
            4000,
        )
    };
    reply_private(
        ctx,
        embed(format!("{} ({} keys)", title(scope), entries.len())).description(text),
    )
    .await
}

/// Read one state key
#[poise::command(slash_command, guild_only, rename = "get")]
pub async fn state_get(
    ctx: Context<'_>,
    #[description = "The key (a-z, 0-9, _)"] key: String,
    #[description = "A bot-wide key instead of this server's"]
    #[rename = "bot-wide"]
    bot_wide: Option<bool>,
) -> Result<(), Error> {
    let scope = scope(ctx, bot_wide, false)?;
    let entry = ctx.data().store.state_entry(scope, key).await?;
    if entry.value.is_none() && entry.text.is_none() {
        return Err(UserError::boxed(format!(
            "There is no key `{}`.",
            entry.key
        )));
    }
    reply_private(ctx, embed(title(scope)).description(state_line(&entry))).await
}

/// Set a state key's number and/or text
#[poise::command(slash_command, guild_only, rename = "set")]
pub async fn state_set(
    ctx: Context<'_>,
    #[description = "The key (a-z, 0-9, _; mood keys start with daily_mood_)"] key: String,
    #[description = "A number"] value: Option<i64>,
    #[description = "A text (up to 1000 characters)"] text: Option<String>,
    #[description = "A bot-wide key such as the mood (bot owners only)"]
    #[rename = "bot-wide"]
    bot_wide: Option<bool>,
) -> Result<(), Error> {
    let scope = scope(ctx, bot_wide, true)?;
    let entry = ctx.data().store.set_state(scope, key, value, text).await?;
    reply_private(
        ctx,
        embed(format!("{} updated", title(scope))).description(state_line(&entry)),
    )
    .await
}

/// Delete a state key
#[poise::command(slash_command, guild_only, rename = "delete")]
pub async fn state_delete(
    ctx: Context<'_>,
    #[description = "The key (a-z, 0-9, _)"] key: String,
    #[description = "A bot-wide key (bot owners only)"]
    #[rename = "bot-wide"]
    bot_wide: Option<bool>,
) -> Result<(), Error> {
    let scope = scope(ctx, bot_wide, true)?;
    let existed = ctx.data().store.delete_state(scope, key.clone()).await?;
    let text = if existed {
        format!("`{key}` is deleted.")
    } else {
        format!("There was no key `{key}`.")
    };
    reply_private(ctx, embed(title(scope)).description(text)).await
}
