//! The log tail the console's activity page streams: a `tracing` layer that keeps the last
//! lines in a ring and broadcasts new ones. It sits behind the same filter as the terminal output, so
//! it sees what the operator would see; with no console page open it costs one formatted
//! string per event and a ring slot.

use serde::Serialize;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines kept for a page opened now.
const KEPT: usize = 300;

#[derive(Clone, Debug, Serialize)]
pub struct LogLine {
    pub at: String,
    pub level: String,
    pub target: String,
    pub text: String,
}

pub struct LogTail {
    recent: Mutex<VecDeque<LogLine>>,
    live: broadcast::Sender<LogLine>,
}

/// The process's one tail (the tracing subscriber is process-wide too).
pub fn tail() -> &'static LogTail {
    static TAIL: OnceLock<LogTail> = OnceLock::new();
    TAIL.get_or_init(|| LogTail {
        recent: Mutex::new(VecDeque::with_capacity(KEPT)),
        live: broadcast::channel(256).0,
    })
}

impl LogTail {
    pub fn recent(&self) -> Vec<LogLine> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }

    fn push(&self, line: LogLine) {
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() == KEPT {
                recent.pop_front();
            }
            recent.push_back(line.clone());
        }
        let _ = self.live.send(line);
    }
}

/// The layer `telemetry::init` installs.
pub struct TailLayer;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?} ");
        } else {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value} ");
        } else {
            let _ = write!(self.0, "{}={value} ", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for TailLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let meta = event.metadata();
        tail().push(LogLine {
            at: chrono::Utc::now().format("%H:%M:%S").to_string(),
            level: meta.level().to_string(),
            target: meta.target().to_owned(),
            text: fields.0.trim_end().to_owned(),
        });
    }
}
