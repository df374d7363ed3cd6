//! The persona: the base every server shares and one server's layer, edited in place with
//! the `/admin persona` requests, and a preview of the persona-and-rules turn the next reply
//! in that server will open with (rendered by the reply prompt's own builder), with its
//! token count.

use super::{Page, Refused, Running, back, bot_name};
use crate::console::view;
use crate::domain::emotes::EmoteCatalog;
use crate::domain::{GuildId, PersonaKind};
use axum::Form;
use axum::extract::{Path, Query};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Which {
    /// A server id: show its layer and preview its persona.
    #[serde(default)]
    server: Option<u64>,
}

/// `base`, or a server id.
fn layer_of(text: &str) -> Option<GuildId> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .map(GuildId)
}

fn page_of(layer: Option<GuildId>) -> String {
    layer.map_or_else(|| "/persona".to_owned(), |g| format!("/persona?server={g}"))
}

pub async fn show(
    Running {
        shared,
        session,
        bot,
    }: Running,
    Query(which): Query<Which>,
) -> Page {
    let guild = which.server.filter(|id| *id != 0).map(GuildId);
    let mut servers = bot.store.known_servers().await.unwrap_or_default();
    if let Some(g) = guild.filter(|g| !servers.contains(g)) {
        servers.push(g);
    }
    let base = bot.store.persona_entries(None).await?;
    let layer = match guild {
        Some(g) => bot.store.persona_entries(Some(g)).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let persona = bot.store.persona(guild).await?;
    let name = bot_name(&bot, guild).await;
    // The emotes the reply offers in that server (as `steps::speaking::emote_catalog`).
    let emotes = match guild {
        Some(g) => EmoteCatalog {
            custom: bot.chat.custom_emotes(g).await,
        },
        None => EmoteCatalog::default(),
    };
    let budget = bot.settings.bot.persona_token_budget;
    let (preview, tokens) =
        crate::prompts::system_preview(&name, &persona, budget, &emotes.prompt_names(40))
            .unwrap_or_else(|e| (format!("(the preview failed: {e})"), 0));
    Ok(shared.pages.render(
        "persona.html",
        &view::Frame::new(&session, "Persona", "persona"),
        minijinja::context! {
            servers => servers,
            server => guild,
            base => base,
            layer => layer,
            kinds => PersonaKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            name => name,
            preview => preview,
            tokens => tokens,
            budget => bot.settings.bot.persona_token_budget,
        },
    ))
}

#[derive(Deserialize)]
pub struct AddForm {
    layer: String,
    kind: String,
    content: String,
    #[serde(default)]
    replaces: String,
}

pub async fn add(Running { bot, .. }: Running, Form(form): Form<AddForm>) -> Page {
    let layer = layer_of(&form.layer);
    let Ok(kind) = form.kind.parse::<PersonaKind>() else {
        let unknown = format!("unknown kind `{}`", form.kind);
        return Err(Refused(crate::ports::store::StoreError::Invalid(unknown)));
    };
    let replaces = form.replaces.trim().parse::<i64>().ok();
    bot.store
        .add_persona_entry(layer, kind, form.content, replaces)
        .await?;
    Ok(back(&page_of(layer)))
}

#[derive(Deserialize)]
pub struct EditForm {
    layer: String,
    #[serde(default)]
    content: String,
}

pub async fn edit(
    Running { bot, .. }: Running,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Page {
    let layer = layer_of(&form.layer);
    bot.store
        .edit_persona_entry(layer, id, form.content)
        .await?;
    Ok(back(&page_of(layer)))
}

pub async fn remove(
    Running { bot, .. }: Running,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Page {
    let layer = layer_of(&form.layer);
    bot.store.remove_persona_entry(layer, id).await?;
    Ok(back(&page_of(layer)))
}
