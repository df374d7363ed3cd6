//! /kick, /ban, /unban, /timeout, /untimeout and /modlog.
//!
//! Each action: server-side checks (`domain::moderation::check`), an optional DM to the
//! member (a failed DM never stops the action), the Discord call with the reason as
//! `X-Audit-Log-Reason`, then a numbered modlog case. Discord is called before the case is
//! written, so a refused action leaves no case behind.
//!
//! # Layout
//! - this file: the steps every action shares (checks, reason, DM, case, confirmation).
//! - `actions`: /kick /ban /unban.
//! - `timeouts`: /timeout /untimeout.
//! - `case_log`: /modlog.
//! - `lifting`: the serenity side of lifting temporary bans (`BanPort`).

mod actions;
mod case_log;
mod lifting;
mod timeouts;

pub use actions::{ban, kick, unban};
pub use case_log::modlog;
pub use timeouts::{timeout, untimeout};

use super::checks::{self, GuildView};
use super::{Context, Error, UserError, WARN, discord_time};
use crate::domain::moderation::{self, Sanction, Situation, Target};
use crate::domain::{GuildId, ModAction, ModCase, UserId};
use chrono::Utc;
use serenity::all::{CreateEmbed, CreateMessage, Member, User};

/// Longest reason a moderator may give (Discord's audit-log limit is 512; the moderator's
/// name is appended).
pub const MAX_REASON_CHARS: usize = 400;

/// Checks everything before anything happens; returns the server and the target's member
/// object (None when they are not in the server).
async fn prepare(
    ctx: Context<'_>,
    action: Sanction,
    user: &User,
) -> Result<(GuildView, Option<Member>), Error> {
    let view = GuildView::load(ctx).await?;
    let inter = checks::interaction(ctx)?;
    let invoker = inter
        .member
        .as_deref()
        .ok_or_else(|| UserError::boxed("This command only works in a server."))?;
    let bot_id = ctx.cache().current_user().id;
    let bot = view.id.member(ctx, bot_id).await?;
    let target = match view.id.member(ctx, user.id).await {
        Ok(member) => Some(member),
        Err(e) if checks::is_not_found(&e) => None,
        Err(e) => return Err(e.into()),
    };
    let situation = Situation {
        owner: view.owner,
        invoker: view.party(invoker, Some(checks::invoker_permissions(ctx))),
        bot: view.party(&bot, Some(checks::bot_permissions(ctx))),
        target: match &target {
            Some(m) => Target::Member(view.party(m, None)),
            None => Target::Absent(UserId(user.id.get())),
        },
    };
    moderation::check(action, &situation).map_err(|r| UserError::boxed(upper(&r.to_string())))?;
    Ok((view, target))
}

fn upper(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The reason as given (trimmed), refused if too long.
fn reason_of(reason: Option<String>) -> Result<Option<String>, Error> {
    let Some(reason) = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
    else {
        return Ok(None);
    };
    let len = reason.chars().count();
    if len > MAX_REASON_CHARS {
        return Err(UserError::boxed(format!(
            "The reason is {len} characters long; the limit is {MAX_REASON_CHARS}."
        )));
    }
    Ok(Some(reason))
}

/// What the audit log shows: the reason and who gave it (the log itself names the bot).
pub fn audit_reason(reason: Option<&str>, moderator: &str) -> String {
    format!("{} (by {moderator})", reason.unwrap_or("No reason given"))
}

/// DMs the member when `wanted`; `None` when no DM was asked for, else whether it arrived.
async fn notify_if(
    ctx: Context<'_>,
    wanted: bool,
    user: &User,
    text: impl FnOnce() -> String,
) -> Option<bool> {
    if wanted {
        Some(notify(ctx, user, text()).await)
    } else {
        None
    }
}

/// DMs the member; false (and a debug log) if Discord refuses, e.g. closed DMs.
async fn notify(ctx: Context<'_>, user: &User, text: String) -> bool {
    if user.bot {
        return false;
    }
    match user
        .direct_message(ctx, CreateMessage::new().content(text))
        .await
    {
        Ok(_) => true,
        Err(error) => {
            tracing::debug!(%error, user = %user.id, "could not DM a member about a moderation action");
            false
        }
    }
}

fn dm_text(action: &str, server: &str, reason: Option<&str>, extra: Option<String>) -> String {
    let mut text = format!("You have been {action} in **{server}**");
    if let Some(extra) = extra {
        text.push_str(&format!(" {extra}"));
    }
    text.push('.');
    if let Some(reason) = reason {
        text.push_str(&format!("\nReason: {reason}"));
    }
    text
}

async fn record(
    ctx: Context<'_>,
    guild: &GuildView,
    action: ModAction,
    target: &User,
    reason: Option<String>,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> Result<ModCase, Error> {
    Ok(ctx
        .data()
        .store
        .record_case(
            GuildId(guild.id.get()),
            action,
            UserId(target.id.get()),
            UserId(ctx.author().id.get()),
            reason,
            expires_at,
        )
        .await?)
}

fn action_title(action: ModAction) -> &'static str {
    match action {
        ModAction::Kick => "Kick",
        ModAction::Ban => "Ban",
        ModAction::Unban => "Unban",
        ModAction::Timeout => "Timeout",
        ModAction::Untimeout => "Timeout lifted",
    }
}

fn case_embed(case: &ModCase, target: &User, dm: Option<bool>) -> CreateEmbed {
    let mut e = CreateEmbed::new()
        .title(format!(
            "Case #{} · {}",
            case.case_number,
            action_title(case.action)
        ))
        .colour(WARN)
        .field(
            "Member",
            format!("<@{}> ({})", target.id, target.name),
            true,
        )
        .field("Moderator", format!("<@{}>", case.moderator_id), true)
        .field(
            "Reason",
            case.reason.as_deref().unwrap_or("No reason given"),
            false,
        );
    if let Some(until) = case.expires_at {
        e = e.field(
            "Until",
            format!(
                "{} ({})",
                discord_time(until, 'f'),
                discord_time(until, 'R')
            ),
            false,
        );
    }
    if let Some(dm) = dm {
        e = e.footer(serenity::all::CreateEmbedFooter::new(if dm {
            "The member was notified by DM."
        } else {
            "The member could not be notified by DM."
        }));
    }
    e
}

async fn confirm(
    ctx: Context<'_>,
    case: &ModCase,
    target: &User,
    dm: Option<bool>,
) -> Result<(), Error> {
    ctx.send(poise::CreateReply::default().embed(case_embed(case, target, dm)))
        .await?;
    Ok(())
}
