//! /kick, /ban and /unban.

use super::{audit_reason, begin, confirm, dm_text, notify_if, prepare, reason_of, record, upper};
use crate::discord::commands::{Context, Error, UserError, checks};
use crate::domain::ModAction;
use crate::domain::moderation::{self, Sanction, ends_at, human_duration};
use chrono::Utc;
use serenity::all::User;

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
    begin(ctx).await?;
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
    let recorded = record(ctx, &guild, ModAction::Kick, &member, reason, None).await;
    confirm(ctx, recorded, ModAction::Kick, &member, sent, None).await
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
    begin(ctx).await?;
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
    let recorded = record(ctx, &guild, ModAction::Ban, &member, reason, expires_at).await;
    confirm(ctx, recorded, ModAction::Ban, &member, sent, expires_at).await
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
    // After the "not banned" refusal, which stays private.
    begin(ctx).await?;
    let recorded = record(ctx, &guild, ModAction::Unban, &user, reason, None).await;
    confirm(ctx, recorded, ModAction::Unban, &user, None, None).await
}
