//! /admin relationship show|set|reset: how the bot feels about a member in this server.

use crate::discord::commands::{Context, Error, checks, embed, reply_private};
use crate::domain::relationship::interpret;
use crate::domain::{Metric, Relationship};
use serenity::all::{CreateEmbed, User};

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum MetricChoice {
    #[name = "anger"]
    Anger,
    #[name = "rapport"]
    Rapport,
    #[name = "trust"]
    Trust,
    #[name = "formality"]
    Formality,
}

impl From<MetricChoice> for Metric {
    fn from(m: MetricChoice) -> Self {
        match m {
            MetricChoice::Anger => Metric::Anger,
            MetricChoice::Rapport => Metric::Rapport,
            MetricChoice::Trust => Metric::Trust,
            MetricChoice::Formality => Metric::Formality,
        }
    }
}

/// How the bot feels about a member
#[poise::command(
    slash_command,
    guild_only,
    subcommands("relationship_show", "relationship_set", "relationship_reset")
)]
pub async fn relationship(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

pub fn relationship_embed(title: String, r: &Relationship) -> CreateEmbed {
    let mut e = embed(title);
    for metric in Metric::ALL {
        let (min, max) = metric.range();
        let v = r.get(metric);
        e = e.field(
            metric.name(),
            format!("**{v}** ({min}..{max}) · {}", interpret(metric, v)),
            true,
        );
    }
    e
}

/// Show a member's relationship metrics
#[poise::command(slash_command, guild_only, rename = "show")]
pub async fn relationship_show(
    ctx: Context<'_>,
    #[description = "The member"] member: User,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let who = checks::member_here(ctx, &member)?;
    let r = ctx.data().store.relationship(who).await?;
    reply_private(
        ctx,
        relationship_embed(format!("Relationship with {}", member.name), &r),
    )
    .await
}

/// Set one relationship metric (anger, rapport, trust 0 to 10; formality -5 to 5)
#[poise::command(slash_command, guild_only, rename = "set")]
pub async fn relationship_set(
    ctx: Context<'_>,
    #[description = "The member"] member: User,
    #[description = "Which metric"] metric: MetricChoice,
    #[description = "The new value (anger, rapport, trust: 0 to 10; formality: -5 to 5)"]
    value: i64,
    #[description = "Why (kept in the change log)"] reason: Option<String>,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let who = checks::member_here(ctx, &member)?;
    let metric = Metric::from(metric);
    let reason = reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| format!("set by {} with /admin", ctx.author().name));
    let change = ctx
        .data()
        .store
        .set_metric(who, metric, value, reason)
        .await?;
    reply_private(
        ctx,
        embed("Relationship updated").description(format!(
            "{} with {}: {} → **{}** ({})",
            change.metric,
            member.name,
            change.old_value,
            change.new_value,
            interpret(change.metric, change.new_value)
        )),
    )
    .await
}

/// Put every metric back to neutral for a member (logged like any other change)
#[poise::command(slash_command, guild_only, rename = "reset")]
pub async fn relationship_reset(
    ctx: Context<'_>,
    #[description = "The member"] member: User,
    #[description = "Why (kept in the change log)"] reason: Option<String>,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let who = checks::member_here(ctx, &member)?;
    let reason = reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| format!("reset by {} with /admin", ctx.author().name));
    let changes = ctx.data().store.reset_relationship(who, reason).await?;
    let r = ctx.data().store.relationship(who).await?;
    let title = if changes.is_empty() {
        format!("Relationship with {} was already neutral", member.name)
    } else {
        format!("Relationship with {} reset", member.name)
    };
    reply_private(ctx, relationship_embed(title, &r)).await
}
