//! /admin persona add|list|edit|remove|name: the persona in two layers. A server's admins
//! edit their server's layer (added lines, or lines replacing base ones there); only bot
//! owners touch the base every server shares (`base: true`).

use super::MAX_CHOICES;
use crate::discord::commands::{Context, Error, checks, clip, embed, reply_private};
use crate::domain::{GuildId, PersonaEntry, PersonaKind};
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
    subcommands(
        "persona_add",
        "persona_list",
        "persona_edit",
        "persona_remove",
        "persona_name"
    )
)]
pub async fn persona(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The layer a command works on: this server's (its admins), or with `base` the global base
/// every server shares (bot owners only).
fn layer(ctx: Context<'_>, base: Option<bool>) -> Result<Option<GuildId>, Error> {
    if base.unwrap_or(false) {
        checks::require_owner(ctx)?;
        Ok(None)
    } else {
        checks::require_admin(ctx)?;
        Ok(Some(GuildId(checks::guild_id(ctx)?.get())))
    }
}

fn entry_line(e: &PersonaEntry) -> String {
    let origin = match (e.guild_id, e.replaces) {
        (None, _) => "base".to_owned(),
        (Some(_), Some(base)) => format!("this server, replaces #{base}"),
        (Some(_), None) => "this server".to_owned(),
    };
    format!(
        "`#{}` **{}** _({origin})_ {}",
        e.id,
        e.kind,
        clip(&e.content, 300)
    )
}

/// Entries offered for editing: this server's layer, plus the base for bot owners.
async fn editable_entries(ctx: Context<'_>) -> Vec<PersonaEntry> {
    let store = &ctx.data().store;
    let mut entries = Vec::new();
    if checks::is_admin(ctx)
        && let Some(guild) = ctx.guild_id()
        && let Ok(layer) = store.persona_entries(Some(GuildId(guild.get()))).await
    {
        entries.extend(layer);
    }
    if checks::is_owner(ctx)
        && let Ok(base) = store.persona_entries(None).await
    {
        entries.extend(base);
    }
    entries
}

async fn autocomplete_persona(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let needle = partial.trim().to_lowercase();
    let choices = editable_entries(ctx)
        .await
        .iter()
        .filter(|e| {
            needle.is_empty()
                || e.id.to_string().starts_with(&needle)
                || e.content.to_lowercase().contains(&needle)
        })
        .take(MAX_CHOICES)
        .map(|e| {
            let origin = if e.guild_id.is_none() {
                "base"
            } else {
                "server"
            };
            AutocompleteChoice::new(
                clip(
                    &format!("#{} [{origin} {}] {}", e.id, e.kind, e.content),
                    100,
                ),
                e.id,
            )
        })
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// Add a line to this server's persona (or, for bot owners, to the base every server shares)
#[poise::command(slash_command, guild_only, rename = "add")]
pub async fn persona_add(
    ctx: Context<'_>,
    #[description = "What kind of line"] kind: KindChoice,
    #[description = "The line itself (up to 2000 characters)"] content: String,
    #[description = "A base entry this line replaces in this server"] replaces: Option<i64>,
    #[description = "Add to the base persona of every server (bot owners only)"] base: Option<bool>,
) -> Result<(), Error> {
    let layer = layer(ctx, base)?;
    let entry = ctx
        .data()
        .store
        .add_persona_entry(layer, kind.into(), content, replaces)
        .await?;
    reply_private(
        ctx,
        embed("Persona entry added").description(entry_line(&entry)),
    )
    .await
}

/// The persona as this server sees it: the shared base with this server's layer applied
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn persona_list(ctx: Context<'_>) -> Result<(), Error> {
    checks::require_admin(ctx)?;
    let guild = GuildId(checks::guild_id(ctx)?.get());
    let persona = ctx.data().store.persona(Some(guild)).await?;
    let name = persona.name_or(&ctx.data().settings.bot.name).to_owned();
    let entries = persona.entries;
    let mut e = embed(format!("{name}'s persona here ({} entries)", entries.len()));
    if entries.is_empty() {
        e = e.description("No entries yet. Add one with `/admin persona add`.");
    }
    for kind in PersonaKind::ALL {
        let lines: Vec<String> = entries
            .iter()
            .filter(|x| x.kind == kind)
            .map(|x| clip(&entry_line(x), 250))
            .collect();
        if !lines.is_empty() {
            e = e.field(kind.as_str(), clip(&lines.join("\n"), 1024), false);
        }
    }
    reply_private(ctx, e).await
}

/// Rewrite a persona line of this server (or, for bot owners, of the base)
#[poise::command(slash_command, guild_only, rename = "edit")]
pub async fn persona_edit(
    ctx: Context<'_>,
    #[description = "Which entry"]
    #[autocomplete = "autocomplete_persona"]
    id: i64,
    #[description = "The new text (up to 2000 characters)"] content: String,
    #[description = "The entry is in the base persona (bot owners only)"] base: Option<bool>,
) -> Result<(), Error> {
    let layer = layer(ctx, base)?;
    let entry = ctx
        .data()
        .store
        .edit_persona_entry(layer, id, content)
        .await?;
    reply_private(
        ctx,
        embed("Persona entry updated").description(entry_line(&entry)),
    )
    .await
}

/// Remove a persona line of this server (or, for bot owners, of the base)
#[poise::command(slash_command, guild_only, rename = "remove")]
pub async fn persona_remove(
    ctx: Context<'_>,
    #[description = "Which entry"]
    #[autocomplete = "autocomplete_persona"]
    id: i64,
    #[description = "The entry is in the base persona (bot owners only)"] base: Option<bool>,
) -> Result<(), Error> {
    let layer = layer(ctx, base)?;
    ctx.data().store.remove_persona_entry(layer, id).await?;
    reply_private(
        ctx,
        embed("Persona entry removed").description(format!("Entry #{id} is gone.")),
    )
    .await
}

/// Rename the persona in this server (or, for bot owners, everywhere); no name resets it
#[poise::command(slash_command, guild_only, rename = "name")]
pub async fn persona_name(
    ctx: Context<'_>,
    #[description = "The new name (up to 32 characters); leave out to go back to the default"]
    name: Option<String>,
    #[description = "Rename the base persona of every server (bot owners only)"] base: Option<bool>,
) -> Result<(), Error> {
    let layer = layer(ctx, base)?;
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    ctx.data()
        .store
        .set_persona_name(layer, name.clone())
        .await?;
    // Channels keep the name they answer to with their policy: read it again everywhere.
    ctx.data().router.policy_changed(None).await;
    let shown = match &name {
        Some(n) => format!("I am now called **{n}**"),
        None => "I am back to my default name".to_owned(),
    };
    let place = if layer.is_some() {
        " in this server"
    } else {
        " everywhere (where a server has not renamed me)"
    };
    reply_private(
        ctx,
        embed("Persona renamed").description(format!("{shown}{place}.")),
    )
    .await
}
