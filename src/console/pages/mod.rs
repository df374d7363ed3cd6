//! One file per area of the console. Each handler takes [`Running`] (so none can forget the
//! login, or what to show while the bot is not up yet), reaches the bot through `BotView`
//! (the slash commands' own handles) and renders one template. A store refusal is returned
//! with `?` as [`Refused`] and rendered by one layer ([`render_refusals`]), so every page
//! words it the same way.

pub mod activity;
pub mod dashboard;
pub mod members;
pub mod persona;
pub mod settings;

use super::auth::Authed;
use super::sessions::SessionInfo;
use super::state::{BotView, Shared};
use super::view;
use crate::ports::store::StoreError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// What a page handler answers: its page, or a store refusal.
pub type Page = Result<Response, Refused>;

/// A request from the logged-in operator while the bot runs: the console's shared state,
/// the session and the bot. Anyone else gets the login page; before the bot is up, the
/// set-up page or "starting".
pub struct Running {
    pub shared: Arc<Shared>,
    pub session: SessionInfo,
    pub bot: Arc<BotView>,
}

impl FromRequestParts<Arc<Shared>> for Running {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let Authed(session) = Authed::from_request_parts(parts, shared).await?;
        let bot = running(shared, &session)?;
        Ok(Running {
            shared: shared.clone(),
            session,
            bot,
        })
    }
}

/// A store refusal, worded for the operator by [`render_refusals`] (which has the session).
#[derive(Debug)]
pub struct Refused(pub StoreError);

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Self {
        Refused(error)
    }
}

/// Carries the refusal from the handler's response to [`render_refusals`].
#[derive(Clone)]
struct Refusal(Arc<StoreError>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = status_of(&self.0).into_response();
        response.extensions_mut().insert(Refusal(Arc::new(self.0)));
        response
    }
}

/// Layer: turns a handler's [`Refused`] into the operator's message page.
pub async fn render_refusals(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let session = request.extensions().get::<SessionInfo>().cloned();
    let response = next.run(request).await;
    let refusal = response.extensions().get::<Refusal>().cloned();
    match (refusal, session) {
        (Some(Refusal(error)), Some(session)) => store_error(&shared, &session, &error),
        _ => response,
    }
}

/// The running bot, or the page to show instead (set-up, or "starting").
// The page is returned straight to axum, never stored: its size does not matter.
#[allow(clippy::result_large_err)]
fn running(shared: &Shared, session: &SessionInfo) -> Result<Arc<BotView>, Response> {
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

fn status_of(error: &StoreError) -> StatusCode {
    match error {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::Invalid(_) | StoreError::Relationship(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// A store refusal shown to the operator (the same wording the slash commands give).
fn store_error(shared: &Shared, session: &SessionInfo, error: &StoreError) -> Response {
    let status = status_of(error);
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
