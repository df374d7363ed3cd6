//! /admin persona add|list|edit|remove: the bot's persona lines.

use super::MAX_CHOICES;
use crate::discord::commands::{Context, Error, checks, clip, embed, reply_private};
use crate::domain::{PersonaEntry, PersonaKind};
use serenity::all::{AutocompleteChoice, CreateAutocompleteResponse};

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
        && let Ok(entries) = ctx.data().store.persona_entries().await
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
    let entry = ctx
        .data()
        .store
        .add_persona_entry(kind.into(), content)
        .await?;
    reply_private(
        ctx,
        embed("Persona entry added").description(entry_line(&entry)),
    )
    .await
}

/// List the persona's lines
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn persona_list(ctx: Context<'_>) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let entries = ctx.data().store.persona_entries().await?;
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
    reply_private(ctx, e).await
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
    let entry = ctx.data().store.edit_persona_entry(id, content).await?;
    reply_private(
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
    ctx.data().store.remove_persona_entry(id).await?;
    reply_private(
        ctx,
        embed("Persona entry removed").description(format!("Entry #{id} is gone.")),
    )
    .await
}
