//! /admin state list|get|set: shared values (mood dimensions, counters, the status line).

use crate::discord::commands::{Context, Error, UserError, checks, clip, embed, reply_private};
use crate::domain::StateEntry;

/// Shared values: mood dimensions, counters, the status line
#[poise::command(
    slash_command,
    guild_only,
    subcommands("state_list", "state_get", "state_set")
)]
pub async fn state(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn state_line(s: &StateEntry) -> String {
    let value = s.value.map_or_else(|| "—".to_owned(), |v| v.to_string());
    match &s.text {
        Some(t) => format!("`{}` = **{value}** · “{}”", s.key, clip(t, 200)),
        None => format!("`{}` = **{value}**", s.key),
    }
}

/// List every global state key
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn state_list(ctx: Context<'_>) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entries = ctx.data().store.list_state().await?;
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
        embed(format!("Global state ({} keys)", entries.len())).description(text),
    )
    .await
}

/// Read one global state key
#[poise::command(slash_command, guild_only, rename = "get")]
pub async fn state_get(
    ctx: Context<'_>,
    #[description = "The key (a-z, 0-9, _)"] key: String,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entry = ctx.data().store.state_entry(key).await?;
    if entry.value.is_none() && entry.text.is_none() {
        return Err(UserError::boxed(format!(
            "There is no key `{}`.",
            entry.key
        )));
    }
    reply_private(ctx, embed("Global state").description(state_line(&entry))).await
}

/// Set a global state key's number and/or text
#[poise::command(slash_command, guild_only, rename = "set")]
pub async fn state_set(
    ctx: Context<'_>,
    #[description = "The key (a-z, 0-9, _; mood keys start with daily_mood_)"] key: String,
    #[description = "A number"] value: Option<i64>,
    #[description = "A text (up to 1000 characters)"] text: Option<String>,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entry = ctx.data().store.set_state(key, value, text).await?;
    reply_private(
        ctx,
        embed("Global state updated").description(state_line(&entry)),
    )
    .await
}
