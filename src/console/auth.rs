//! The way in: the login page, the session middleware that gives every browser a session,
//! and `Authed`, the extractor every page takes, so no handler can forget the login.

use super::sessions::{SessionInfo, cookie_value, set_cookie};
use super::state::Shared;
use super::view;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use std::sync::Arc;

/// Middleware: gives every request a session (new ones get their cookie on the response).
pub async fn ensure_session(
    State(shared): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    let known = cookie_value(req.headers()).and_then(|id| shared.sessions.get(&id));
    let (info, fresh) = match known {
        Some(info) => (info, false),
        None => (shared.sessions.create(false), true),
    };
    let id = info.id.clone();
    req.extensions_mut().insert(info);
    let mut response = next.run(req).await;
    if fresh
        && !response.headers().contains_key(SET_COOKIE)
        && let Some(cookie) = set_cookie(&id)
    {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// A request from the logged-in operator; anyone else is sent to the login page.
pub struct Authed(pub SessionInfo);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<SessionInfo>() {
            Some(info) if info.authed => Ok(Authed(info.clone())),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

pub async fn login_page(
    State(shared): State<Arc<Shared>>,
    Extension(session): Extension<SessionInfo>,
) -> Response {
    if session.authed {
        return Redirect::to("/").into_response();
    }
    login_with(&shared, &session, None)
}

fn login_with(shared: &Shared, session: &SessionInfo, error: Option<&str>) -> Response {
    shared.pages.render(
        "login.html",
        &view::Frame::anonymous(session, "Log in"),
        minijinja::context! {
            error => error,
            password => shared.sessions.has_password(),
        },
    )
}

pub async fn login(
    State(shared): State<Arc<Shared>>,
    Extension(session): Extension<SessionInfo>,
    Form(form): Form<LoginForm>,
) -> Response {
    if !shared.sessions.check_login(&form.code, &form.password) {
        tracing::warn!("console: a login with a wrong code or password");
        return login_with(
            &shared,
            &session,
            Some(
                "That code or password is not right. The code is in the bot's output and log; each code works once.",
            ),
        );
    }
    shared.sessions.remove(&session.id);
    let fresh = shared.sessions.create(true);
    let mut response = Redirect::to("/").into_response();
    if let Some(cookie) = set_cookie(&fresh.id) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

pub async fn logout(
    State(shared): State<Arc<Shared>>,
    Extension(session): Extension<SessionInfo>,
) -> Response {
    shared.sessions.remove(&session.id);
    Redirect::to("/login").into_response()
}
