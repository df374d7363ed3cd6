//! One file per area of the console. Each handler takes `Authed` (so none can forget the
//! login), reaches the bot through `BotView` (the slash commands' own handles) and renders
//! one template.

pub mod activity;
pub mod dashboard;
pub mod members;
pub mod persona;
pub mod settings;

use super::sessions::SessionInfo;
use super::state::{BotView, Shared};
use super::view;
use crate::ports::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The running bot, or the page to show instead (set-up, or "starting").
// The page is returned straight to axum, never stored: its size does not matter.
#[allow(clippy::result_large_err)]
pub fn running(shared: &Shared, session: &SessionInfo) -> Result<Arc<BotView>, Response> {
    if let Some(bot) = shared.bot() {
        return Ok(bot);
    }
    if shared.setup.is_waiting() {
        return Err(Redirect::to("/setup").into_response());
    }
    Err(shared.pages.message(
        &view::Frame::new(session, "Starting", ""),
        StatusCode::SERVICE_UNAVAILABLE,
        "The bot is starting. This page will work in a few seconds: reload it.",
    ))
}

/// A store refusal shown to the operator (the same wording the slash commands give).
pub fn store_error(shared: &Shared, session: &SessionInfo, error: &StoreError) -> Response {
    let status = match error {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::Invalid(_) | StoreError::Relationship(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let text = match error {
        StoreError::Unavailable(_) | StoreError::NotAnswering(_) => format!(
            "The database is busy or unreachable right now, so nothing was changed; try \
             again in a moment. ({error})"
        ),
        _ => format!("That was not done: {error}"),
    };
    shared
        .pages
        .message(&view::Frame::new(session, "Not done", ""), status, &text)
}

/// Back to `to` after a change (POST, then redirect, then GET).
pub fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The bot's display name as replies use it (the base persona's name, else the setting).
pub async fn bot_name(bot: &BotView, guild: Option<crate::domain::GuildId>) -> String {
    match bot.store.persona(guild).await {
        Ok(persona) => persona.name_or(&bot.settings.bot.name).to_owned(),
        Err(_) => bot.settings.bot.name.clone(),
    }
}
