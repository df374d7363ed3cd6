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
use crate::domain::lifting::{LiftState, PendingCase};
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

/// What became of the modlog write after the action happened on Discord.
enum Recorded {
    Case(ModCase),
    /// The store refused or was unreachable; the case waits in memory (`unrecorded`) for
    /// the ban lifter to write it, and a temporary ban in it is lifted from there.
    Unwritten(String),
}

async fn record(
    ctx: Context<'_>,
    guild: &GuildView,
    action: ModAction,
    target: &User,
    reason: Option<String>,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> Recorded {
    let (guild, target, moderator) = (
        GuildId(guild.id.get()),
        UserId(target.id.get()),
        UserId(ctx.author().id.get()),
    );
    let written = ctx
        .data()
        .store
        .record_case(guild, action, target, moderator, reason.clone(), expires_at)
        .await;
    match written {
        Ok(case) => Recorded::Case(case),
        Err(error) => {
            tracing::error!(%error, %guild, user = %target, %action, "done on Discord, but the case could not be written; kept in memory to write later");
            ctx.data().unrecorded.push(PendingCase {
                guild,
                action,
                target,
                moderator,
                reason,
                expires_at,
                lifted_at: None,
                lift: LiftState::default(),
            });
            Recorded::Unwritten(error.to_string())
        }
    }
}

/// Past tense for "… on Discord, but …".
fn action_done(action: ModAction) -> &'static str {
    match action {
        ModAction::Kick => "Kicked",
        ModAction::Ban => "Banned",
        ModAction::Unban => "Unbanned",
        ModAction::Timeout => "Timed out",
        ModAction::Untimeout => "Timeout lifted",
    }
}

/// The truthful answer when the action happened but its case was not written.
pub fn unwritten_text(
    action: ModAction,
    error: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> String {
    let mut text = format!(
        "{} on Discord, but I could not write the case to the modlog: {error}. \
         I will keep trying to write it while I run",
        action_done(action)
    );
    match (action, expires_at) {
        (ModAction::Ban, Some(until)) => text.push_str(&format!(
            ", and I will still lift the ban {} (I keep its end in memory until the case is \
             written; if I restart before that, lift it by hand with /unban).",
            discord_time(until, 'R')
        )),
        _ => text.push_str("; if I restart before that, the case is lost."),
    }
    text
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
    recorded: Recorded,
    action: ModAction,
    target: &User,
    dm: Option<bool>,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> Result<(), Error> {
    let reply = match recorded {
        Recorded::Case(case) => poise::CreateReply::default().embed(case_embed(&case, target, dm)),
        Recorded::Unwritten(error) => {
            poise::CreateReply::default().content(unwritten_text(action, &error, expires_at))
        }
    };
    ctx.send(reply).await?;
    Ok(())
}

/// Checks passed: from here the DM, the Discord call and the modlog write may outlast
/// Discord's 3 seconds, so the answer is deferred (publicly, like the case it shows).
async fn begin(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer().await?;
    Ok(())
}
