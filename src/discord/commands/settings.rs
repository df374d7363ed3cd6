//! /bot enable|disable [channel], /bot proactive on|off [channel], /bot memory on|off,
//! /bot status [channel], /bot logchannel [channel]: where the bot speaks, whether it
//! remembers, today's token spend, and where it reports what it could not do. For members
//! with Manage Server, checked on the server side.

use super::{Context, Error, checks, embed};
use crate::domain::moderation::perms;
use crate::domain::spend::day_of;
use crate::domain::{ChannelId, ChannelPolicy, GuildId};
use serenity::all::ChannelId as DiscordChannel;

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum OnOff {
    #[name = "on"]
    On,
    #[name = "off"]
    Off,
}

/// Where the bot may talk in this server
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommands("enable", "disable", "proactive", "memory", "status", "log_channel")
)]
pub async fn bot(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The server, and the channel option checked to be one of its channels.
async fn ids(
    ctx: Context<'_>,
    channel: Option<DiscordChannel>,
) -> Result<(GuildId, Option<ChannelId>), Error> {
    checks::require(ctx, perms::MANAGE_GUILD)?;
    let guild = GuildId(checks::guild_id(ctx)?.get());
    let channel = match channel {
        Some(c) => Some(checks::channel_here(ctx, c).await?),
        None => None,
    };
    Ok((guild, channel))
}

async fn switch(ctx: Context<'_>, channel: Option<DiscordChannel>, on: bool) -> Result<(), Error> {
    let (guild, channel) = ids(ctx, channel).await?;
    let store = &ctx.data().store;
    let place = match channel {
        None => {
            store.set_guild_enabled(guild, on).await?;
            "in this server (channels with their own setting keep it)".to_owned()
        }
        Some(channel) => {
            store
                .set_channel_enabled(Some(guild), channel, Some(on))
                .await?;
            format!("in <#{channel}>")
        }
    };
    // Channel actors keep their policy; tell the ones concerned to read it again.
    ctx.data().router.policy_changed(channel).await;
    let verb = if on { "enabled" } else { "disabled" };
    super::reply_private(
        ctx,
        embed(format!("Bot {verb}")).description(format!("I am now {verb} {place}.")),
    )
    .await
}

/// Let the bot talk in this server, or in one channel
#[poise::command(slash_command, guild_only)]
pub async fn enable(
    ctx: Context<'_>,
    #[description = "Only this channel (default: the whole server)"]
    #[channel_types("Text", "News", "PublicThread", "PrivateThread")]
    channel: Option<DiscordChannel>,
) -> Result<(), Error> {
    switch(ctx, channel, true).await
}

/// Stop the bot from talking in this server, or in one channel
#[poise::command(slash_command, guild_only)]
pub async fn disable(
    ctx: Context<'_>,
    #[description = "Only this channel (default: the whole server)"]
    #[channel_types("Text", "News", "PublicThread", "PrivateThread")]
    channel: Option<DiscordChannel>,
) -> Result<(), Error> {
    switch(ctx, channel, false).await
}

/// Let the bot speak up unprompted in a channel (off by default)
#[poise::command(slash_command, guild_only)]
pub async fn proactive(
    ctx: Context<'_>,
    #[description = "on or off"] mode: OnOff,
    #[description = "Which channel (default: this one)"]
    #[channel_types("Text", "News", "PublicThread", "PrivateThread")]
    channel: Option<DiscordChannel>,
) -> Result<(), Error> {
    let (guild, channel) = ids(ctx, channel).await?;
    let channel = channel.unwrap_or(ChannelId(ctx.channel_id().get()));
    let enabled = matches!(mode, OnOff::On);
    ctx.data()
        .store
        .set_channel_proactive(Some(guild), channel, enabled)
        .await?;
    let text = if enabled {
        format!("I may now start conversations in <#{channel}> now and then.")
    } else {
        format!("I will only answer when addressed in <#{channel}>.")
    };
    super::reply_private(
        ctx,
        embed(format!(
            "Proactive messages {}",
            if enabled { "on" } else { "off" }
        ))
        .description(text),
    )
    .await
}

/// Whether the bot remembers this server's members (off: it forgets each day's messages)
#[poise::command(slash_command, guild_only)]
pub async fn memory(
    ctx: Context<'_>,
    #[description = "on: remember members; off: forget each day's messages"] state: OnOff,
) -> Result<(), Error> {
    let (guild, _) = ids(ctx, None).await?;
    let enabled = matches!(state, OnOff::On);
    ctx.data().store.set_guild_memory(guild, enabled).await?;
    let text = if enabled {
        "I will remember what members of this server tell me again (from now on)."
    } else {
        "I will not remember anything from this server any more: each day's messages are \
         deleted instead of learned from, and the facts I already hold are not used while \
         memory is off (delete them with `/admin memory delete`)."
    };
    super::reply_private(
        ctx,
        embed(format!("Memory {}", if enabled { "on" } else { "off" })).description(text),
    )
    .await
}

/// Where I report what I could not do (temporary bans I could not lift); empty: nowhere
#[poise::command(slash_command, guild_only, rename = "logchannel")]
pub async fn log_channel(
    ctx: Context<'_>,
    #[description = "The channel for my notices; leave empty to stop them"] channel: Option<
        DiscordChannel,
    >,
) -> Result<(), Error> {
    let (guild, channel) = ids(ctx, channel).await?;
    ctx.data().store.set_log_channel(guild, channel).await?;
    let text = match channel {
        Some(channel) => format!(
            "I will post in <#{channel}> when I cannot do something moderators need to know \
             about (a temporary ban I could not lift)."
        ),
        None => "I will not post notices in this server any more.".to_owned(),
    };
    super::reply_private(ctx, embed("Log channel").description(text)).await
}

fn yes_no(b: bool) -> &'static str {
    if b { "✅ yes" } else { "❌ no" }
}

/// Show whether the bot talks in a channel, and whether it speaks up unprompted there
#[poise::command(slash_command, guild_only)]
pub async fn status(
    ctx: Context<'_>,
    #[description = "Which channel (default: this one)"]
    #[channel_types("Text", "News", "PublicThread", "PrivateThread")]
    channel: Option<DiscordChannel>,
) -> Result<(), Error> {
    let (guild, channel) = ids(ctx, channel).await?;
    let channel = channel.unwrap_or(ChannelId(ctx.channel_id().get()));
    let default = ChannelPolicy {
        bot_enabled: ctx.data().settings.bot.enabled_by_default,
        ..ChannelPolicy::default()
    };
    let policy = ctx
        .data()
        .store
        .channel_policy(Some(guild), channel, default)
        .await?;
    let budgets = ctx.data().settings.budget;
    let (bot, server) = ctx
        .data()
        .store
        .server_spend(day_of(chrono::Utc::now()), guild)
        .await?;
    let e = embed("Bot status")
        .description(format!("In <#{channel}>"))
        .field("Answers when addressed", yes_no(policy.bot_enabled), true)
        .field(
            "Speaks up unprompted",
            yes_no(policy.proactive_enabled),
            true,
        )
        .field(
            "Tokens today (this server)",
            spend_line(server.tokens(), budgets.server),
            false,
        )
        .field(
            "Tokens today (whole bot)",
            spend_line(bot.tokens(), budgets.global),
            false,
        );
    super::reply_private(ctx, e).await
}

/// "12,345 of 1,000,000 (1%)", or "12,345 (no limit)"; the day is UTC.
fn spend_line(spent: u64, budget: u64) -> String {
    if budget == 0 {
        return format!("{} (no limit)", thousands(spent));
    }
    let percent = spent.saturating_mul(100) / budget;
    let mut line = format!("{} of {} ({percent}%)", thousands(spent), thousands(budget));
    if spent >= budget {
        line.push_str(", spent until midnight UTC");
    }
    line
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_is_shown_against_the_budget() {
        assert_eq!(spend_line(12_345, 0), "12,345 (no limit)");
        assert_eq!(spend_line(500, 1_000_000), "500 of 1,000,000 (0%)");
        assert_eq!(
            spend_line(2_000, 1_000),
            "2,000 of 1,000 (200%), spent until midnight UTC"
        );
    }
}
