//! The ops HTTP server: what an orchestrator and a Prometheus need from the bot.
//!
//! - `/metrics`: the Prometheus exposition of `telemetry::metrics`.
//! - `/healthz`: the process is up and serving (always 200, touches nothing).
//! - `/readyz`: 200 when the gateway is connected, the database answered its last ping and
//!   the model answered within the window (`domain::health`), else 503; the body says which
//!   check failed. Cheap by construction: it reads `Vitals` kept current by the adapters,
//!   pings the database at most every `ops.database_check_secs` (one ping at a time, the
//!   answer kept in between), and never calls the model; the model is probed in the
//!   background only while nothing else has talked to it for half the window.
//!
//! `router` is public so the web console can mount these routes on its own server too
//! (`App::ops_state` gives it the state, also when `ops.listen` is off). `server` runs
//! them: the background watch (model probe, metrics upkeep) and the optional listener.

mod server;
pub use server::{Ops, start};

use crate::config::OpsSettings;
use crate::domain::health::readiness;
use crate::telemetry::metrics;
use crate::telemetry::vitals::Vitals;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Asks the database whether it answers (`true`: it did).
pub type DatabasePing = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// How long one database ping may take before it counts as failed.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What the routes read.
pub struct OpsState {
    pub vitals: Arc<Vitals>,
    /// `None`: no recorder could be installed; `/metrics` answers 503.
    pub metrics: Option<PrometheusHandle>,
    pub database: DatabasePing,
    pub model_window: Duration,
    pub database_every: Duration,
    /// The last ping and when it was made; a tokio Mutex so one ping runs at a time and
    /// concurrent probes share its answer.
    last_ping: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl OpsState {
    pub fn new(
        settings: &OpsSettings,
        vitals: Arc<Vitals>,
        metrics: Option<PrometheusHandle>,
        database: DatabasePing,
    ) -> Self {
        Self {
            vitals,
            metrics,
            database,
            model_window: Duration::from_secs(settings.model_window_secs),
            database_every: Duration::from_secs(settings.database_check_secs),
            last_ping: tokio::sync::Mutex::new(None),
        }
    }

    /// The database's last answer, pinging again when it is older than `database_every`.
    async fn database_up(&self) -> bool {
        let mut last = self.last_ping.lock().await;
        if let Some((at, up)) = *last
            && at.elapsed() < self.database_every
        {
            return up;
        }
        let up = tokio::time::timeout(PING_TIMEOUT, (self.database)())
            .await
            .unwrap_or(false);
        *last = Some((Instant::now(), up));
        up
    }
}

/// `/metrics`, `/healthz` and `/readyz` over `state`.
pub fn router(state: Arc<OpsState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

async fn scrape(State(state): State<Arc<OpsState>>) -> impl IntoResponse {
    let Some(handle) = &state.metrics else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no metrics recorder is installed\n".to_owned(),
        );
    };
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}

async fn ready(State(state): State<Arc<OpsState>>) -> impl IntoResponse {
    let database = state.database_up().await;
    let verdict = readiness(&state.vitals.inputs(Some(database), state.model_window));
    metrics::ready(verdict.ready);
    let status = if verdict.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, verdict.report())
}
