//! /timeout and /untimeout.

use super::{audit_reason, begin, confirm, dm_text, notify_if, prepare, reason_of, record, upper};
use crate::discord::commands::{Context, Error, UserError, checks};
use crate::domain::ModAction;
use crate::domain::moderation::{self, Sanction, ends_at, human_duration};
use chrono::Utc;
use serenity::all::{EditMember, Timestamp, User};

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
    begin(ctx).await?;
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
    let recorded = record(
        ctx,
        &guild,
        ModAction::Timeout,
        &member,
        reason,
        Some(until),
    )
    .await;
    confirm(
        ctx,
        recorded,
        ModAction::Timeout,
        &member,
        sent,
        Some(until),
    )
    .await
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
    begin(ctx).await?;
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
    let recorded = record(ctx, &guild, ModAction::Untimeout, &member, reason, None).await;
    confirm(ctx, recorded, ModAction::Untimeout, &member, sent, None).await
}
