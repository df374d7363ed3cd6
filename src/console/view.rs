//! Templates and the page frame. The templates are compiled into the binary and rendered by
//! minijinja (the engine the prompts already use) with HTML auto-escaping on for every
//! `.html` template, so anything a member wrote (a name, a fact) is shown as text.

use super::error::ConsoleError;
use super::sessions::SessionInfo;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("setup.html", include_str!("templates/setup.html")),
    ("setup_done.html", include_str!("templates/setup_done.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("persona.html", include_str!("templates/persona.html")),
    ("members.html", include_str!("templates/members.html")),
    ("member.html", include_str!("templates/member.html")),
    ("settings.html", include_str!("templates/settings.html")),
    ("activity.html", include_str!("templates/activity.html")),
    ("message.html", include_str!("templates/message.html")),
];

/// The stylesheet, served at `/static/console.css`.
pub const STYLESHEET: &str = include_str!("static/console.css");
/// The one script: follows the activity page's log stream. Every page works without it.
pub const SCRIPT: &str = include_str!("static/console.js");

pub struct Pages {
    env: Environment<'static>,
}

/// What every page's frame needs: the title, the CSRF token for its forms, which section
/// is open, and whether the visitor is logged in.
#[derive(Serialize)]
pub struct Frame<'a> {
    pub title: &'a str,
    pub csrf: &'a str,
    pub section: &'a str,
    pub authed: bool,
}

impl<'a> Frame<'a> {
    pub fn new(session: &'a SessionInfo, title: &'a str, section: &'a str) -> Self {
        Self {
            title,
            csrf: &session.csrf,
            section,
            authed: session.authed,
        }
    }

    pub fn anonymous(session: &'a SessionInfo, title: &'a str) -> Self {
        Self::new(session, title, "")
    }
}

impl Pages {
    pub fn new() -> Result<Self, ConsoleError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_filter("num", thousands);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| ConsoleError::Templates(format!("{name}: {e}")))?;
        }
        Ok(Self { env })
    }

    /// Renders `name` with the frame and the page's own values.
    pub fn render(&self, name: &str, frame: &Frame<'_>, page: Value) -> Response {
        let ctx = minijinja::context! { frame => frame, ..page };
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => Html(html).into_response(),
            Err(error) => {
                tracing::error!(%error, template = name, "console: a page failed to render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page failed to render; see the log",
                )
                    .into_response()
            }
        }
    }

    /// A short page with one message (errors, "not running yet").
    pub fn message(&self, frame: &Frame<'_>, status: StatusCode, text: &str) -> Response {
        let mut response = self.render("message.html", frame, minijinja::context! { text => text });
        *response.status_mut() = status;
        response
    }
}

/// `12345678` → `12,345,678` (the `num` filter).
fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_separators() {
        assert_eq!(thousands(10_000_000), "10,000,000");
        assert_eq!(thousands(518), "518");
        assert_eq!(thousands(-1234), "-1,234");
    }

    #[test]
    fn member_text_is_escaped() {
        let pages = Pages::new().expect("templates compile");
        let session = SessionInfo {
            id: "s".into(),
            csrf: "t".into(),
            authed: true,
        };
        let frame = Frame::new(&session, "x", "");
        let response = pages.message(&frame, StatusCode::OK, "<script>alert(1)</script>");
        assert_eq!(response.status(), StatusCode::OK);
        let html = pages
            .env
            .get_template("message.html")
            .and_then(|t| {
                t.render(
                    minijinja::context! { frame => frame, text => "<script>alert(1)</script>" },
                )
            })
            .expect("renders");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
        assert!(!html.contains("<script>alert"));
    }
}
