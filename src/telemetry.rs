//! Logging setup. `RUST_LOG` wins over the settings' filter so an operator can turn up one
//! module without editing files; JSON output is for log shippers.

use crate::config::TelemetrySettings;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber. Safe to call twice (tests): the second call is a no-op.
pub fn init(settings: &TelemetrySettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // The console's activity page tails the same filtered events (`console::logs`).
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(crate::console::logs::TailLayer);
    let result = if settings.json {
        registry
            .with(fmt::layer().json().with_current_span(false))
            .try_init()
    } else {
        registry.with(fmt::layer().with_target(true)).try_init()
    };
    // Already initialised (a test set its own subscriber): keep that one.
    drop(result);
}
