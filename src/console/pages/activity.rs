//! Activity: the log tail (the last lines, then new ones over server-sent events, filtered
//! by level and server), and two jobs on demand: a memory consolidation run and a new
//! status line. Each job runs in the background through the same periodic actor as its
//! schedule (a run already going is joined, not doubled); the page shows its progress.

use super::{Running, back};
use crate::console::auth::Authed;
use crate::console::view;
use crate::telemetry::tail::{LogLine, tail};
use axum::extract::Query;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use std::time::Duration;

/// How long a consolidation run requested here may take before the page says so.
const RUN_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

#[derive(Deserialize, Default, Clone)]
pub struct Filter {
    /// `error`, `warn`, `info` or `debug`: that level and more severe.
    #[serde(default)]
    level: String,
    /// A server id: only lines naming it.
    #[serde(default)]
    server: String,
}

fn severity(level: &str) -> u8 {
    match level.to_ascii_uppercase().as_str() {
        "ERROR" => 0,
        "WARN" => 1,
        "INFO" => 2,
        "DEBUG" => 3,
        _ => 4,
    }
}

impl Filter {
    fn keeps(&self, line: &LogLine) -> bool {
        let level_ok = self.level.is_empty() || severity(&line.level) <= severity(&self.level);
        let server = self.server.trim();
        level_ok && (server.is_empty() || line.text.contains(server))
    }
}

pub async fn show(
    Running {
        shared, session, ..
    }: Running,
    Query(filter): Query<Filter>,
) -> Response {
    let lines: Vec<LogLine> = tail()
        .recent()
        .into_iter()
        .filter(|l| filter.keeps(l))
        .collect();
    let jobs = shared.jobs.all();
    let busy = jobs.values().any(|j| j.running);
    shared.pages.render(
        "activity.html",
        &view::Frame::new(&session, "Activity", "activity"),
        minijinja::context! {
            lines => lines,
            jobs => jobs,
            busy => busy,
            level => filter.level,
            server => filter.server,
        },
    )
}

/// New log lines as server-sent events (each event's data is one formatted line).
pub async fn log_stream(
    Authed(_session): Authed,
    Query(filter): Query<Filter>,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let receiver = tail().subscribe();
    let stream = futures::stream::unfold((receiver, filter), |(mut rx, filter)| async move {
        loop {
            match rx.recv().await {
                Ok(line) if filter.keeps(&line) => {
                    let text =
                        format!("{} {:5} {} {}", line.at, line.level, line.target, line.text);
                    let event = Event::default().event("log").data(text);
                    return Some((Ok(event), (rx, filter)));
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

pub async fn consolidate(Running { shared, bot, .. }: Running) -> Response {
    if shared.jobs.start("consolidation") {
        let shared = shared.clone();
        tokio::spawn(async move {
            let outcome = match bot.consolidator.run_now(RUN_TIMEOUT).await {
                Ok(Ok(r)) => Ok(format!(
                    "{} members, {} facts added, {} bumped, {} superseded, {} messages archived ({} skipped, {} model calls)",
                    r.users_done,
                    r.facts_added,
                    r.facts_bumped,
                    r.facts_superseded,
                    r.messages_archived,
                    r.users_skipped,
                    r.llm_calls
                )),
                Ok(Err(error)) => Err(error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            shared.jobs.finish("consolidation", outcome);
        });
    }
    back("/activity")
}

pub async fn regenerate_status(Running { shared, bot, .. }: Running) -> Response {
    if shared.jobs.start("status line") {
        let shared = shared.clone();
        tokio::spawn(async move {
            let outcome = match bot.status.run_now(Duration::from_secs(120)).await {
                Ok(Ok(line)) => Ok(format!("New status line: {line}")),
                Ok(Err(error)) => Err(error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            shared.jobs.finish("status line", outcome);
        });
    }
    back("/activity")
}
