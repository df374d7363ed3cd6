//! /admin persona|memory|relationship|state: real-time administration. Allowed for
//! Administrators, the server owner, `bot.owner_ids` and `bot.admin_role_id`, checked on
//! the server side (there is no `default_member_permissions`, so the admin role can see
//! the command). Every subcommand is one `AdminRequest` to the StoreActor; replies are
//! ephemeral.

use super::{Context, Error, UserError, admin as send, checks, clip, discord_time, embed};
use crate::admin::{AdminReply, AdminRequest, StateEntry};
use crate::domain::relationship::interpret;
use crate::domain::{MemoryFact, Metric, PersonaEntry, PersonaKind, Relationship, UserId};
use crate::expect_reply;
use serenity::all::{
    AutocompleteChoice, CommandDataOption, CommandDataOptionValue, CreateAutocompleteResponse,
    CreateEmbed, User,
};

/// Discord shows at most 25 autocomplete choices.
const MAX_CHOICES: usize = 25;

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum KindChoice {
    #[name = "trait"]
    Trait,
    #[name = "lore"]
    Lore,
    #[name = "fact"]
    Fact,
    #[name = "quirk"]
    Quirk,
}

impl From<KindChoice> for PersonaKind {
    fn from(k: KindChoice) -> Self {
        match k {
            KindChoice::Trait => PersonaKind::Trait,
            KindChoice::Lore => PersonaKind::Lore,
            KindChoice::Fact => PersonaKind::Fact,
            KindChoice::Quirk => PersonaKind::Quirk,
        }
    }
}

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

/// Administer the bot: persona, members' memories, relationships, global state
#[poise::command(
    slash_command,
    guild_only,
    subcommands("persona", "memory", "relationship", "state")
)]
pub async fn admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

// ---- persona --------------------------------------------------------------------------

/// The bot's persona: traits, lore, facts and quirks
#[poise::command(
    slash_command,
    guild_only,
    subcommands("persona_add", "persona_list", "persona_edit", "persona_remove")
)]
pub async fn persona(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn entry_line(e: &PersonaEntry) -> String {
    format!("`#{}` **{}** {}", e.id, e.kind, clip(&e.content, 300))
}

async fn autocomplete_persona(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let mut choices = Vec::new();
    if checks::is_admin(ctx)
        && let Ok(AdminReply::PersonaEntries(entries)) =
            ctx.data().store.admin(AdminRequest::ListPersona).await
    {
        let needle = partial.trim().to_lowercase();
        choices = entries
            .iter()
            .filter(|e| {
                needle.is_empty()
                    || e.id.to_string().starts_with(&needle)
                    || e.content.to_lowercase().contains(&needle)
            })
            .take(MAX_CHOICES)
            .map(|e| {
                AutocompleteChoice::new(
                    clip(&format!("#{} [{}] {}", e.id, e.kind, e.content), 100),
                    e.id,
                )
            })
            .collect();
    }
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// Add a line to the persona
#[poise::command(slash_command, guild_only, rename = "add")]
pub async fn persona_add(
    ctx: Context<'_>,
    #[description = "What kind of line"] kind: KindChoice,
    #[description = "The line itself (up to 2000 characters)"] content: String,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let reply = send(
        ctx,
        AdminRequest::AddPersonaEntry {
            kind: kind.into(),
            content,
        },
    )
    .await?;
    let entry = expect_reply!(reply, AdminReply::PersonaEntry);
    super::reply_private(
        ctx,
        embed("Persona entry added").description(entry_line(&entry)),
    )
    .await
}

/// List the persona's lines
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn persona_list(ctx: Context<'_>) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entries = expect_reply!(
        send(ctx, AdminRequest::ListPersona).await?,
        AdminReply::PersonaEntries
    );
    let mut e = embed(format!("Persona ({} entries)", entries.len()));
    if entries.is_empty() {
        e = e.description("No entries yet. Add one with `/admin persona add`.");
    }
    for kind in PersonaKind::ALL {
        let lines: Vec<String> = entries
            .iter()
            .filter(|x| x.kind == kind)
            .map(|x| format!("`#{}` {}", x.id, clip(&x.content, 200)))
            .collect();
        if !lines.is_empty() {
            e = e.field(kind.as_str(), clip(&lines.join("\n"), 1024), false);
        }
    }
    super::reply_private(ctx, e).await
}

/// Rewrite a persona line
#[poise::command(slash_command, guild_only, rename = "edit")]
pub async fn persona_edit(
    ctx: Context<'_>,
    #[description = "Which entry"]
    #[autocomplete = "autocomplete_persona"]
    id: i64,
    #[description = "The new text (up to 2000 characters)"] content: String,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entry = expect_reply!(
        send(ctx, AdminRequest::EditPersonaEntry { id, content }).await?,
        AdminReply::PersonaEntry
    );
    super::reply_private(
        ctx,
        embed("Persona entry updated").description(entry_line(&entry)),
    )
    .await
}

/// Remove a persona line
#[poise::command(slash_command, guild_only, rename = "remove")]
pub async fn persona_remove(
    ctx: Context<'_>,
    #[description = "Which entry"]
    #[autocomplete = "autocomplete_persona"]
    id: i64,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    send(ctx, AdminRequest::RemovePersonaEntry { id }).await?;
    super::reply_private(
        ctx,
        embed("Persona entry removed").description(format!("Entry #{id} is gone.")),
    )
    .await
}

// ---- members' memories ------------------------------------------------------------------

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

/// Fact choices for `user`, filtered by what was typed.
pub async fn fact_choices(
    ctx: Context<'_>,
    user: UserId,
    partial: &str,
) -> CreateAutocompleteResponse {
    let facts = ctx
        .data()
        .store
        .admin(AdminRequest::ListFacts { user })
        .await;
    let choices = match facts {
        Ok(AdminReply::Facts(facts)) => {
            let needle = partial.trim().to_lowercase();
            facts
                .iter()
                .filter(|f| {
                    needle.is_empty()
                        || f.id.to_string().starts_with(&needle)
                        || f.fact.to_lowercase().contains(&needle)
                })
                .take(MAX_CHOICES)
                .map(|f| AutocompleteChoice::new(clip(&format!("#{} {}", f.id, f.fact), 100), f.id))
                .collect()
        }
        _ => Vec::new(),
    };
    CreateAutocompleteResponse::new().set_choices(choices)
}

async fn autocomplete_member_fact(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let member = checks::interaction(ctx)
        .ok()
        .and_then(|i| member_option(&i.data.options));
    match member {
        Some(user) if checks::is_admin(ctx) => fact_choices(ctx, user, partial).await,
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
    let user = UserId(member.id.get());
    let facts = expect_reply!(
        send(ctx, AdminRequest::ListFacts { user }).await?,
        AdminReply::Facts
    );
    super::reply_private(
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
    let request = AdminRequest::AddFact {
        user: UserId(member.id.get()),
        fact,
        category: category.unwrap_or_else(|| "general".to_owned()),
    };
    let fact = expect_reply!(send(ctx, request).await?, AdminReply::Fact);
    super::reply_private(
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
    let request = AdminRequest::EditFact {
        user: UserId(member.id.get()),
        id,
        fact,
        category,
    };
    let fact = expect_reply!(send(ctx, request).await?, AdminReply::Fact);
    super::reply_private(ctx, embed("Fact updated").description(fact_line(&fact))).await
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
    send(
        ctx,
        AdminRequest::DeleteFact {
            user: UserId(member.id.get()),
            id,
        },
    )
    .await?;
    super::reply_private(
        ctx,
        embed("Fact deleted")
            .description(format!("Fact #{id} about {} is forgotten.", member.name)),
    )
    .await
}

// ---- relationship -------------------------------------------------------------------------

/// How the bot feels about a member
#[poise::command(
    slash_command,
    guild_only,
    subcommands("relationship_show", "relationship_set")
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
    let r = expect_reply!(
        send(
            ctx,
            AdminRequest::ShowRelationship {
                user: UserId(member.id.get())
            }
        )
        .await?,
        AdminReply::Relationship
    );
    super::reply_private(
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
    let metric = Metric::from(metric);
    let reason = reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| format!("set by {} with /admin", ctx.author().name));
    let change = expect_reply!(
        send(
            ctx,
            AdminRequest::SetMetric {
                user: UserId(member.id.get()),
                metric,
                value,
                reason,
            }
        )
        .await?,
        AdminReply::MetricChanged
    );
    super::reply_private(
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

// ---- global state --------------------------------------------------------------------------

/// Shared values: mood dimensions, counters, the status line
#[poise::command(
    slash_command,
    guild_only,
    subcommands("state_list", "state_get", "state_set")
)]
pub async fn state(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn state_line(s: &StateEntry) -> String {
    let value = s.value.map_or_else(|| "—".to_owned(), |v| v.to_string());
    match &s.text {
        Some(t) => format!("`{}` = **{value}** · “{}”", s.key, clip(t, 200)),
        None => format!("`{}` = **{value}**", s.key),
    }
}

/// List every global state key
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn state_list(ctx: Context<'_>) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entries = expect_reply!(send(ctx, AdminRequest::ListState).await?, AdminReply::State);
    let text = if entries.is_empty() {
        "No keys yet.".to_owned()
    } else {
        clip(
            &entries
                .iter()
                .map(state_line)
                .collect::<Vec<_>>()
                .join("\n"),
            4000,
        )
    };
    super::reply_private(
        ctx,
        embed(format!("Global state ({} keys)", entries.len())).description(text),
    )
    .await
}

/// Read one global state key
#[poise::command(slash_command, guild_only, rename = "get")]
pub async fn state_get(
    ctx: Context<'_>,
    #[description = "The key (a-z, 0-9, _)"] key: String,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entry = expect_reply!(
        send(ctx, AdminRequest::GetState { key }).await?,
        AdminReply::StateEntry
    );
    if entry.value.is_none() && entry.text.is_none() {
        return Err(UserError::boxed(format!(
            "There is no key `{}`.",
            entry.key
        )));
    }
    super::reply_private(ctx, embed("Global state").description(state_line(&entry))).await
}

/// Set a global state key's number and/or text
#[poise::command(slash_command, guild_only, rename = "set")]
pub async fn state_set(
    ctx: Context<'_>,
    #[description = "The key (a-z, 0-9, _; mood keys start with daily_mood_)"] key: String,
    #[description = "A number"] value: Option<i64>,
    #[description = "A text (up to 1000 characters)"] text: Option<String>,
) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entry = expect_reply!(
        send(ctx, AdminRequest::SetState { key, value, text }).await?,
        AdminReply::StateEntry
    );
    super::reply_private(
        ctx,
        embed("Global state updated").description(state_line(&entry)),
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
