//! Observing the running bot: logs (set up here; `tail` keeps the last lines for the console), Prometheus metrics (`metrics`: every name
//! and label in one place) and the live state readiness is decided from (`vitals`).
//!
//! `RUST_LOG` wins over the settings' filter so an operator can turn up one module without
//! editing files. JSON output is for log shippers: each line carries the fields of the span
//! it was written in (`span`) and of every span around it (`spans`), so the guild, channel
//! and message ids of a reply or a command are on every line it logs.

pub mod memory;
pub mod metrics;
pub mod tail;
pub mod vitals;

use crate::config::TelemetrySettings;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber. Safe to call twice (tests): the second call is a no-op.
pub fn init(settings: &TelemetrySettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // The console's activity page tails the same filtered events (`tail`).
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(tail::TailLayer);
    let result = if settings.json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true),
            )
            .try_init()
    } else {
        registry.with(fmt::layer().with_target(true)).try_init()
    };
    // Already initialised (a test set its own subscriber): keep that one.
    drop(result);
}
