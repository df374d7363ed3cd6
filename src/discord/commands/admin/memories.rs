//! /admin memory list|add|edit|delete: what the bot remembers about a member *in this
//! server* (a member's facts from another server are not reachable from here). The fact
//! rendering and the fact autocomplete are shared with /memory.

use super::MAX_CHOICES;
use crate::discord::commands::{Context, Error, checks, clip, discord_time, embed, reply_private};
use crate::domain::{GuildId, MemoryFact, ServerMember, UserId};
use serenity::all::{
    AutocompleteChoice, CommandDataOption, CommandDataOptionValue, CreateAutocompleteResponse,
    CreateEmbed, User,
};

/// What the bot remembers about a member
#[poise::command(
    slash_command,
    guild_only,
    subcommands("memory_list", "memory_add", "memory_edit", "memory_delete")
)]
pub async fn memory(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

pub fn fact_line(f: &MemoryFact) -> String {
    format!(
        "`#{}` {} _({}, mentioned {}×, last {})_",
        f.id,
        clip(&f.fact, 300),
        f.category,
        f.reference_count,
        discord_time(f.last_mentioned_at, 'd')
    )
}

/// Facts as an embed, as many as fit.
pub fn facts_embed(title: String, facts: &[MemoryFact]) -> CreateEmbed {
    let mut e = embed(title);
    if facts.is_empty() {
        return e.description("Nothing remembered.");
    }
    let mut text = String::new();
    let mut shown = 0;
    for f in facts {
        let line = fact_line(f);
        if text.len() + line.len() + 1 > 4000 {
            break;
        }
        text.push_str(&line);
        text.push('\n');
        shown += 1;
    }
    e = e.description(text);
    if shown < facts.len() {
        e = e.footer(serenity::all::CreateEmbedFooter::new(format!(
            "{shown} of {} shown",
            facts.len()
        )));
    }
    e
}

/// The `member` option of an autocomplete request, wherever it is nested.
fn member_option(options: &[CommandDataOption]) -> Option<UserId> {
    options.iter().find_map(|o| match &o.value {
        CommandDataOptionValue::User(id) if o.name == "member" => Some(UserId(id.get())),
        CommandDataOptionValue::SubCommand(inner)
        | CommandDataOptionValue::SubCommandGroup(inner) => member_option(inner),
        _ => None,
    })
}

/// Autocomplete choices among `facts`, filtered by what was typed.
pub fn fact_choices(facts: &[MemoryFact], partial: &str) -> CreateAutocompleteResponse {
    let needle = partial.trim().to_lowercase();
    let choices = facts
        .iter()
        .filter(|f| {
            needle.is_empty()
                || f.id.to_string().starts_with(&needle)
                || f.fact.to_lowercase().contains(&needle)
        })
        .take(MAX_CHOICES)
        .map(|f| AutocompleteChoice::new(clip(&format!("#{} {}", f.id, f.fact), 100), f.id))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

async fn autocomplete_member_fact(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let member = checks::interaction(ctx)
        .ok()
        .and_then(|i| member_option(&i.data.options));
    match (member, ctx.guild_id()) {
        (Some(user), Some(guild)) if checks::is_admin(ctx) => {
            let member = ServerMember::new(GuildId(guild.get()), user);
            let facts = ctx
                .data()
                .store
                .facts_of_member(member, false)
                .await
                .unwrap_or_default();
            fact_choices(&facts, partial)
        }
        _ => CreateAutocompleteResponse::new(),
    }
}

/// List what the bot remembers about a member
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn memory_list(
    ctx: Context<'_>,
    #[description = "The member"] member: User,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let who = checks::member_here(ctx, &member)?;
    let facts = ctx.data().store.facts_of_member(who, false).await?;
    reply_private(
        ctx,
        facts_embed(format!("What I remember about {}", member.name), &facts),
    )
    .await
}

/// Teach the bot a fact about a member
#[poise::command(slash_command, guild_only, rename = "add")]
pub async fn memory_add(
    ctx: Context<'_>,
    #[description = "The member"] member: User,
    #[description = "The fact (up to 1000 characters)"] fact: String,
    #[description = "A category such as hobby, work, preference (default: general)"]
    category: Option<String>,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let who = checks::member_here(ctx, &member)?;
    let fact = ctx
        .data()
        .store
        .add_fact(who, fact, category.unwrap_or_else(|| "general".to_owned()))
        .await?;
    reply_private(
        ctx,
        embed(format!("Fact added for {}", member.name)).description(fact_line(&fact)),
    )
    .await
}

/// Correct a fact about a member
#[poise::command(slash_command, guild_only, rename = "edit")]
pub async fn memory_edit(
    ctx: Context<'_>,
    #[description = "The member"] member: User,
    #[description = "Which fact"]
    #[autocomplete = "autocomplete_member_fact"]
    id: i64,
    #[description = "The corrected fact (up to 1000 characters)"] fact: String,
    #[description = "A new category (default: keep it)"] category: Option<String>,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let who = checks::member_here(ctx, &member)?;
    let fact = ctx.data().store.edit_fact(who, id, fact, category).await?;
    reply_private(ctx, embed("Fact updated").description(fact_line(&fact))).await
}

/// Delete a fact about a member
#[poise::command(slash_command, guild_only, rename = "delete")]
pub async fn memory_delete(
    ctx: Context<'_>,
    #[description = "The member"] member: User,
    #[description = "Which fact"]
    #[autocomplete = "autocomplete_member_fact"]
    id: i64,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let who = checks::member_here(ctx, &member)?;
    ctx.data().store.delete_fact(who, id).await?;
    reply_private(
        ctx,
        embed("Fact deleted")
            .description(format!("Fact #{id} about {} is forgotten.", member.name)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_member_option_in_nested_subcommands() {
        let options: Vec<CommandDataOption> = serde_json::from_value(json!([{
            "name": "delete", "type": 1, "options": [
                {"name": "member", "type": 6, "value": "3000"},
                {"name": "id", "type": 4, "value": "1", "focused": true}
            ]
        }]))
        .unwrap_or_default();
        assert_eq!(member_option(&options), Some(UserId(3000)));
    }
}
