//! /kick, /ban, /unban, /timeout, /untimeout and /modlog.
//!
//! Each action: server-side checks (`domain::moderation::check`), an optional DM to the
//! member (a failed DM never stops the action), the Discord call with the reason as
//! `X-Audit-Log-Reason`, then a numbered modlog case. Discord is called before the case is
//! written, so a refused action leaves no case behind.

use super::checks::{self, GuildView};
use super::{Context, Error, UserError, WARN, admin, clip, discord_time};
use crate::admin::AdminRequest;
use crate::chat::ChatError;
use crate::discord::DiscordChat;
use crate::domain::moderation::{
    self, Sanction, Situation, Target, ends_at, human_duration, perms,
};
use crate::domain::{GuildId, UserId};
use crate::moderation::{BanPort, UnbanOutcome};
use crate::store::{ModAction, ModCase};
use async_trait::async_trait;
use chrono::Utc;
use serenity::all::{CreateEmbed, CreateMessage, EditMember, Member, Timestamp, User};

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

/// DMs the member; false (and a debug log) if Discord refuses, e.g. closed DMs.
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
    let reply = admin(
        ctx,
        AdminRequest::AddCase {
            guild: GuildId(guild.id.get()),
            action,
            target: UserId(target.id.get()),
            moderator: UserId(ctx.author().id.get()),
            reason,
            expires_at,
        },
    )
    .await?;
    Ok(crate::expect_reply!(reply, crate::admin::AdminReply::Case))
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

/// Remove a member from the server (they can rejoin with an invite)
#[poise::command(slash_command, guild_only, default_member_permissions = "KICK_MEMBERS")]
pub async fn kick(
    ctx: Context<'_>,
    #[description = "The member to kick"] member: User,
    #[description = "Why (shown in the audit log and the modlog)"] reason: Option<String>,
    #[description = "Tell them why by DM (default: yes)"] dm: Option<bool>,
) -> Result<(), Error> {
    let reason = reason_of(reason)?;
    let (guild, _) = prepare(ctx, Sanction::Kick, &member).await?;
    let sent = notify_if(ctx, dm.unwrap_or(true), &member, || {
        dm_text("kicked", &guild.name, reason.as_deref(), None)
    })
    .await;
    let audit = audit_reason(reason.as_deref(), &ctx.author().name);
    guild
        .id
        .kick_with_reason(ctx, member.id, &audit)
        .await
        .map_err(|e| checks::discord_refusal(e, "kick them"))?;
    let case = record(ctx, &guild, ModAction::Kick, &member, reason, None).await?;
    confirm(ctx, &case, &member, sent).await
}

/// Ban a member, permanently or for a while
#[poise::command(slash_command, guild_only, default_member_permissions = "BAN_MEMBERS")]
pub async fn ban(
    ctx: Context<'_>,
    #[description = "The user to ban (they need not be in the server)"] member: User,
    #[description = "Why (shown in the audit log and the modlog)"] reason: Option<String>,
    #[description = "How long, e.g. 12h, 7d, 2w; empty for a permanent ban"] duration: Option<
        String,
    >,
    #[description = "Delete their messages from the last 0-7 days (default 0)"]
    #[min = 0]
    #[max = 7]
    delete_days: Option<i64>,
    #[description = "Tell them why by DM (default: yes)"] dm: Option<bool>,
) -> Result<(), Error> {
    let reason = reason_of(reason)?;
    let length = duration
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(moderation::tempban_duration)
        .transpose()
        .map_err(|e| UserError::boxed(upper(&e.to_string())))?;
    let days = delete_days.unwrap_or(0);
    if !(0..=moderation::MAX_DELETE_MESSAGE_DAYS).contains(&days) {
        return Err(UserError::boxed(
            "Discord can delete at most 7 days of messages on a ban.",
        ));
    }
    let (guild, target) = prepare(ctx, Sanction::Ban, &member).await?;
    let expires_at = length.map(|d| ends_at(Utc::now(), d));
    let sent = notify_if(ctx, dm.unwrap_or(true) && target.is_some(), &member, || {
        let extra = length.map(|d| format!("for {}", human_duration(d)));
        dm_text("banned", &guild.name, reason.as_deref(), extra)
    })
    .await;
    let audit = audit_reason(reason.as_deref(), &ctx.author().name);
    guild
        .id
        .ban_with_reason(ctx, member.id, days as u8, &audit)
        .await
        .map_err(|e| checks::discord_refusal(e, "ban them"))?;
    let case = record(ctx, &guild, ModAction::Ban, &member, reason, expires_at).await?;
    confirm(ctx, &case, &member, sent).await
}

/// Lift a ban
#[poise::command(slash_command, guild_only, default_member_permissions = "BAN_MEMBERS")]
pub async fn unban(
    ctx: Context<'_>,
    #[description = "The banned user (paste their user id)"] user: User,
    #[description = "Why (shown in the audit log and the modlog)"] reason: Option<String>,
) -> Result<(), Error> {
    let reason = reason_of(reason)?;
    let (guild, _) = prepare(ctx, Sanction::Unban, &user).await?;
    let audit = audit_reason(reason.as_deref(), &ctx.author().name);
    match ctx.http().remove_ban(guild.id, user.id, Some(&audit)).await {
        Ok(()) => {}
        Err(e) if checks::is_not_found(&e) => {
            return Err(UserError::boxed(format!(
                "{} is not banned here.",
                user.name
            )));
        }
        Err(e) => return Err(checks::discord_refusal(e, "unban them")),
    }
    let case = record(ctx, &guild, ModAction::Unban, &user, reason, None).await?;
    confirm(ctx, &case, &user, None).await
}

/// Time a member out: they cannot write, react or talk until it ends (at most 28 days)
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MODERATE_MEMBERS"
)]
pub async fn timeout(
    ctx: Context<'_>,
    #[description = "The member to time out"] member: User,
    #[description = "How long, e.g. 10m, 2h, 3d (at most 28d)"] duration: String,
    #[description = "Why (shown in the audit log and the modlog)"] reason: Option<String>,
    #[description = "Tell them why by DM (default: yes)"] dm: Option<bool>,
) -> Result<(), Error> {
    let reason = reason_of(reason)?;
    let length = moderation::timeout_duration(&duration)
        .map_err(|e| UserError::boxed(upper(&e.to_string())))?;
    let (guild, _) = prepare(ctx, Sanction::Timeout, &member).await?;
    let until = ends_at(Utc::now(), length);
    let stamp = Timestamp::from_unix_timestamp(until.timestamp())?;
    let audit = audit_reason(reason.as_deref(), &ctx.author().name);
    guild
        .id
        .edit_member(
            ctx,
            member.id,
            EditMember::new()
                .disable_communication_until_datetime(stamp)
                .audit_log_reason(&audit),
        )
        .await
        .map_err(|e| checks::discord_refusal(e, "time them out"))?;
    let sent = notify_if(ctx, dm.unwrap_or(true), &member, || {
        let extra = Some(format!("for {}", human_duration(length)));
        dm_text("timed out", &guild.name, reason.as_deref(), extra)
    })
    .await;
    let case = record(
        ctx,
        &guild,
        ModAction::Timeout,
        &member,
        reason,
        Some(until),
    )
    .await?;
    confirm(ctx, &case, &member, sent).await
}

/// End a member's timeout early
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MODERATE_MEMBERS"
)]
pub async fn untimeout(
    ctx: Context<'_>,
    #[description = "The member whose timeout to end"] member: User,
    #[description = "Why (shown in the audit log and the modlog)"] reason: Option<String>,
    #[description = "Tell them by DM (default: yes)"] dm: Option<bool>,
) -> Result<(), Error> {
    let reason = reason_of(reason)?;
    let (guild, target) = prepare(ctx, Sanction::Untimeout, &member).await?;
    let now = Utc::now().timestamp();
    let timed_out = target
        .and_then(|m| m.communication_disabled_until)
        .is_some_and(|t| t.unix_timestamp() > now);
    if !timed_out {
        return Err(UserError::boxed(format!(
            "{} is not timed out.",
            member.name
        )));
    }
    let audit = audit_reason(reason.as_deref(), &ctx.author().name);
    guild
        .id
        .edit_member(
            ctx,
            member.id,
            EditMember::new()
                .enable_communication()
                .audit_log_reason(&audit),
        )
        .await
        .map_err(|e| checks::discord_refusal(e, "end their timeout"))?;
    let sent = notify_if(ctx, dm.unwrap_or(true), &member, || {
        dm_text(
            "released from your timeout",
            &guild.name,
            reason.as_deref(),
            None,
        )
    })
    .await;
    let case = record(ctx, &guild, ModAction::Untimeout, &member, reason, None).await?;
    confirm(ctx, &case, &member, sent).await
}

/// Show a member's moderation history
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MODERATE_MEMBERS"
)]
pub async fn modlog(
    ctx: Context<'_>,
    #[description = "Whose cases to show"] member: User,
) -> Result<(), Error> {
    let held = checks::invoker_permissions(ctx);
    let moderator = [
        perms::KICK_MEMBERS,
        perms::BAN_MEMBERS,
        perms::MODERATE_MEMBERS,
    ]
    .iter()
    .any(|p| perms::has(held, *p));
    if !moderator && !checks::is_admin(ctx) {
        return Err(UserError::boxed(
            "You need Kick Members, Ban Members or Timeout Members to read the modlog.",
        ));
    }
    let guild = checks::guild_id(ctx)?;
    let reply = admin(
        ctx,
        AdminRequest::ListCases {
            guild: GuildId(guild.get()),
            target: UserId(member.id.get()),
        },
    )
    .await?;
    let cases = crate::expect_reply!(reply, crate::admin::AdminReply::Cases);
    let mut e = super::embed(format!("Modlog · {}", member.name));
    if cases.is_empty() {
        e = e.description("No cases.");
    } else {
        let shown = cases.len().min(20);
        let lines: Vec<String> = cases
            .iter()
            .rev()
            .take(shown)
            .map(|c| {
                let mut line = format!(
                    "**#{}** {} · {} · by <@{}>",
                    c.case_number,
                    action_title(c.action),
                    discord_time(c.created_at, 'd'),
                    c.moderator_id
                );
                if let Some(until) = c.expires_at {
                    let state = if c.lifted_at.is_some() {
                        "lifted"
                    } else {
                        "until"
                    };
                    line.push_str(&format!(" · {state} {}", discord_time(until, 'f')));
                }
                line.push_str(&format!(
                    "\n> {}",
                    clip(c.reason.as_deref().unwrap_or("No reason given"), 150)
                ));
                line
            })
            .collect();
        e = e.description(clip(&lines.join("\n"), 4000));
        e = e.footer(serenity::all::CreateEmbedFooter::new(format!(
            "{} case(s), newest first{}",
            cases.len(),
            if cases.len() > shown {
                "; older ones not shown"
            } else {
                ""
            }
        )));
    }
    super::reply_private(ctx, e).await
}

/// The serenity side of lifting temporary bans (see `crate::moderation`).
#[async_trait]
impl BanPort for DiscordChat {
    async fn unban(
        &self,
        guild: GuildId,
        user: UserId,
        reason: &str,
    ) -> Result<UnbanOutcome, ChatError> {
        let http = self.http()?;
        unban_over(&http, guild, user, reason).await
    }
}

/// Lifting over a bare HTTP client (the BanLifter in tests, or tooling without a gateway).
#[async_trait]
impl BanPort for serenity::all::Http {
    async fn unban(
        &self,
        guild: GuildId,
        user: UserId,
        reason: &str,
    ) -> Result<UnbanOutcome, ChatError> {
        unban_over(self, guild, user, reason).await
    }
}

async fn unban_over(
    http: &serenity::all::Http,
    guild: GuildId,
    user: UserId,
    reason: &str,
) -> Result<UnbanOutcome, ChatError> {
    match http
        .remove_ban(
            serenity::all::GuildId::new(guild.0),
            serenity::all::UserId::new(user.0),
            Some(reason),
        )
        .await
    {
        Ok(()) => Ok(UnbanOutcome::Lifted),
        Err(e) if checks::is_not_found(&e) => Ok(UnbanOutcome::NotBanned),
        Err(e) => Err(crate::discord::chat::classify(e)),
    }
}
