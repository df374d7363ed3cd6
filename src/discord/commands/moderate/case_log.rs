//! /modlog: a member's moderation history.

use super::action_title;
use crate::discord::commands::{
    Context, Error, UserError, checks, clip, discord_time, embed, reply_private,
};
use crate::domain::moderation::perms;
use crate::domain::{GuildId, UserId};
use serenity::all::User;

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
    let cases = ctx
        .data()
        .store
        .cases_for(GuildId(guild.get()), UserId(member.id.get()))
        .await?;
    let mut e = embed(format!("Modlog · {}", member.name));
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
                    } else if c.lift.given_up_at.is_some() {
                        "could not lift (lift it by hand)"
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
    reply_private(ctx, e).await
}
