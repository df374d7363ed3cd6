//! One check for every POST: the form must carry the `csrf` field of the caller's session.
//! A middleware rather than a field each handler checks, so a new form cannot forget it.
//! Forms are small; the body is read (at most `MAX_FORM` bytes), checked and handed on.

use super::sessions::{SessionInfo, constant_time_eq};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// The largest form the console accepts (a persona line is at most 2,000 characters).
pub const MAX_FORM: usize = 64 * 1024;

/// The name of the hidden field every form carries.
pub const FIELD: &str = "csrf";

pub async fn require_token(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(session) = req.extensions().get::<SessionInfo>().cloned() else {
        return refused();
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
    };
    let ok = form_urlencoded::parse(&bytes)
        .any(|(k, v)| k == FIELD && constant_time_eq(v.as_bytes(), session.csrf.as_bytes()));
    if !ok {
        tracing::warn!(path = %parts.uri.path(), "console: a form without a valid CSRF token was refused");
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(
            "<!doctype html><title>Refused</title><link rel=stylesheet href=/static/console.css>\
             <main class=narrow><h1>Form refused</h1><p>This form did not carry the console's \
             security token (CSRF), so it was not applied. It may come from another site, or \
             from a page opened before a restart. <a href=\"/\">Reload the console</a> and try \
             again.</p></main>",
        ),
    )
        .into_response()
}
