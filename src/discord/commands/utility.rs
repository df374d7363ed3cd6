//! /poll (Discord's native poll), /userinfo, /serverinfo and /stats.

use super::{Context, Error, UserError, clip, discord_time, embed};
use crate::domain::{GuildId, UserId};
use chrono::{DateTime, Utc};
use serenity::all::{CreatePoll, CreatePollAnswer, Timestamp, User};

/// Discord's poll limits.
const MAX_QUESTION_CHARS: usize = 300;
const MAX_ANSWER_CHARS: usize = 55;
const MAX_ANSWERS: usize = 10;
const MAX_POLL_HOURS: i64 = 768;

fn to_utc(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), 0).unwrap_or_default()
}

/// Splits `"red | green | blue"` (or `;`/`,` separated) into checked answers.
pub fn poll_answers(text: &str) -> Result<Vec<String>, UserError> {
    let sep = ['|', ';']
        .into_iter()
        .find(|c| text.contains(*c))
        .unwrap_or(',');
    let answers: Vec<String> = text
        .split(sep)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    if answers.len() < 2 {
        return Err(UserError(
            "A poll needs at least two answers, separated by `|` (e.g. `tea | coffee`).".into(),
        ));
    }
    if answers.len() > MAX_ANSWERS {
        return Err(UserError(format!(
            "A poll can have at most {MAX_ANSWERS} answers; you gave {}.",
            answers.len()
        )));
    }
    if let Some(long) = answers
        .iter()
        .find(|a| a.chars().count() > MAX_ANSWER_CHARS)
    {
        return Err(UserError(format!(
            "Each answer can be at most {MAX_ANSWER_CHARS} characters; `{}` is longer.",
            clip(long, 20)
        )));
    }
    Ok(answers)
}

/// Start a poll with Discord's built-in voting
#[poise::command(slash_command, guild_only)]
pub async fn poll(
    ctx: Context<'_>,
    #[description = "The question"] question: String,
    #[description = "2 to 10 answers separated by | (e.g. tea | coffee | water)"] answers: String,
    #[description = "How many hours it runs (1-768, default 24)"]
    #[min = 1]
    #[max = 768]
    hours: Option<i64>,
    #[description = "Allow picking several answers (default: no)"] multiple: Option<bool>,
) -> Result<(), Error> {
    let question = question.trim().to_owned();
    if question.is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
        return Err(UserError::boxed(format!(
            "The question must be 1 to {MAX_QUESTION_CHARS} characters."
        )));
    }
    let answers = poll_answers(&answers)?;
    let hours = hours.unwrap_or(24);
    if !(1..=MAX_POLL_HOURS).contains(&hours) {
        return Err(UserError::boxed(format!(
            "A poll runs 1 to {MAX_POLL_HOURS} hours."
        )));
    }
    let mut poll = CreatePoll::new()
        .question(question)
        .answers(
            answers
                .into_iter()
                .map(|a| CreatePollAnswer::new().text(a))
                .collect(),
        )
        .duration(std::time::Duration::from_secs(hours as u64 * 3600));
    if multiple.unwrap_or(false) {
        poll = poll.allow_multiselect();
    }
    ctx.send(poise::CreateReply::default().poll(poll)).await?;
    Ok(())
}

/// Show a member's account, join date, roles and the names the bot has seen them use
#[poise::command(slash_command, guild_only)]
pub async fn userinfo(
    ctx: Context<'_>,
    #[description = "Who (default: you)"] member: Option<User>,
) -> Result<(), Error> {
    let user = member.unwrap_or_else(|| ctx.author().clone());
    let guild = super::checks::guild_id(ctx)?;
    let member = match guild.member(ctx, user.id).await {
        Ok(m) => Some(m),
        Err(e) if super::checks::is_not_found(&e) => None,
        Err(e) => return Err(e.into()),
    };
    let id = UserId(user.id.get());
    let this_guild = GuildId(guild.get());
    let names = ctx
        .data()
        .store
        .known_names(crate::domain::ServerMember::new(this_guild, id))
        .await?;
    let mut e = embed(
        user.global_name
            .clone()
            .unwrap_or_else(|| user.name.clone()),
    )
    .thumbnail(user.face())
    .field("User", format!("<@{}> · `{}`", user.id, user.id), false)
    .field(
        "Account created",
        discord_time(to_utc(user.id.created_at()), 'D'),
        true,
    );
    match &member {
        Some(m) => {
            if let Some(joined) = m.joined_at {
                e = e.field("Joined the server", discord_time(to_utc(joined), 'D'), true);
            }
            if let Some(nick) = &m.nick {
                e = e.field("Nickname", nick.clone(), true);
            }
            let roles: Vec<String> = m.roles.iter().map(|r| format!("<@&{r}>")).collect();
            e = e.field(
                format!("Roles ({})", roles.len()),
                if roles.is_empty() {
                    "none".to_owned()
                } else {
                    clip(&roles.join(" "), 1000)
                },
                false,
            );
        }
        None => e = e.field("Member", "not in this server", true),
    }
    let seen: Vec<String> = names
        .iter()
        .filter(|n| n.guild_id.is_none_or(|g| g == this_guild))
        .map(|n| n.name.clone())
        .fold(Vec::new(), |mut acc, n| {
            if !acc.contains(&n) {
                acc.push(n);
            }
            acc
        });
    if !seen.is_empty() {
        e = e.field("Known names", clip(&seen.join(", "), 1000), false);
    }
    if user.bot {
        e = e.footer(serenity::all::CreateEmbedFooter::new(
            "This is a bot account.",
        ));
    }
    super::reply_private(ctx, e).await
}

struct GuildCounts {
    name: String,
    owner: u64,
    created: DateTime<Utc>,
    members: u64,
    humans: Option<u64>,
    text_channels: usize,
    voice_channels: usize,
    roles: usize,
    emojis: usize,
    icon: Option<String>,
}

async fn counts(ctx: Context<'_>) -> Result<GuildCounts, Error> {
    let id = super::checks::guild_id(ctx)?;
    let cached = ctx.guild().map(|g| {
        let text = g.channels.values().filter(|c| c.is_text_based()).count();
        GuildCounts {
            name: g.name.clone(),
            owner: g.owner_id.get(),
            created: to_utc(g.id.created_at()),
            members: g.member_count,
            humans: Some(g.members.values().filter(|m| !m.user.bot).count() as u64),
            text_channels: text,
            voice_channels: g.channels.len() - text,
            roles: g.roles.len(),
            emojis: g.emojis.len(),
            icon: g.icon_url(),
        }
    });
    if let Some(c) = cached {
        return Ok(c);
    }
    let g = ctx.http().get_guild_with_counts(id).await?;
    let channels = id.channels(ctx).await?;
    let text = channels.values().filter(|c| c.is_text_based()).count();
    Ok(GuildCounts {
        name: g.name.clone(),
        owner: g.owner_id.get(),
        created: to_utc(id.created_at()),
        members: g.approximate_member_count.unwrap_or_default(),
        humans: None,
        text_channels: text,
        voice_channels: channels.len() - text,
        roles: g.roles.len(),
        emojis: g.emojis.len(),
        icon: g.icon_url(),
    })
}

/// Show this server's members, channels, roles and age
#[poise::command(slash_command, guild_only)]
pub async fn serverinfo(ctx: Context<'_>) -> Result<(), Error> {
    let c = counts(ctx).await?;
    let members = match c.humans {
        Some(h) => format!("{} ({h} people)", c.members),
        None => c.members.to_string(),
    };
    let mut e = embed(c.name)
        .field("Owner", format!("<@{}>", c.owner), true)
        .field("Created", discord_time(c.created, 'D'), true)
        .field("Members", members, true)
        .field(
            "Channels",
            format!("{} text · {} other", c.text_channels, c.voice_channels),
            true,
        )
        .field("Roles", c.roles.to_string(), true)
        .field("Emojis", c.emojis.to_string(), true);
    if let Some(icon) = c.icon {
        e = e.thumbnail(icon);
    }
    super::reply_private(ctx, e).await
}

/// `3d 4h 12m` since the bot started.
pub fn uptime(started: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - started;
    if d.num_minutes() < 1 {
        return format!("{}s", d.num_seconds().max(0));
    }
    crate::domain::moderation::human_duration(d)
}

/// Show the bot's numbers: members, channels, roles, messages today, facts, uptime
#[poise::command(slash_command, guild_only)]
pub async fn stats(ctx: Context<'_>) -> Result<(), Error> {
    // The message count waits for every queued write: may take more than 3 seconds.
    ctx.defer_ephemeral().await?;
    let c = counts(ctx).await?;
    let guild = GuildId(super::checks::guild_id(ctx)?.get());
    let now = Utc::now();
    let day_start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |d| d.and_utc());
    let store = &ctx.data().store;
    let (today, facts) = futures::try_join!(
        store.count_messages_since(Some(guild), day_start),
        store.count_facts(),
    )?;
    let e = embed("Stats")
        .field("Members", c.members.to_string(), true)
        .field(
            "Channels",
            (c.text_channels + c.voice_channels).to_string(),
            true,
        )
        .field("Roles", c.roles.to_string(), true)
        .field("Messages logged today", today.to_string(), true)
        .field("Facts remembered", facts.to_string(), true)
        .field("Uptime", uptime(ctx.data().started_at, now), true);
    super::reply_private(ctx, e).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_poll_answers() {
        assert_eq!(
            poll_answers("tea | coffee |water"),
            Ok(vec!["tea".into(), "coffee".into(), "water".into()])
        );
        assert_eq!(poll_answers("a, b").map(|a| a.len()), Ok(2));
        assert!(poll_answers("only one").is_err());
        assert!(poll_answers(&["x"; 11].join("|")).is_err());
        assert!(poll_answers(&format!("ok | {}", "y".repeat(56))).is_err());
    }

    #[test]
    fn renders_uptime() {
        let start = DateTime::from_timestamp(0, 0).unwrap_or_default();
        assert_eq!(uptime(start, start + chrono::Duration::seconds(42)), "42s");
        assert_eq!(
            uptime(start, start + chrono::Duration::minutes(61)),
            "1h 1m"
        );
    }
}
