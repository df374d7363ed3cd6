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
//! `router` is public so the web console can mount these routes on its own server too.

use crate::config::OpsSettings;
use crate::domain::health::readiness;
use crate::ports::LanguageModel;
use crate::telemetry::metrics;
use crate::telemetry::vitals::Vitals;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Asks the database whether it answers (`true`: it did).
pub type DatabasePing = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// How long one database ping may take before it counts as failed.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How often histograms are folded in even if nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

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

/// Starts the ops server if `settings` ask for one: installs the metrics recorder first,
/// so everything the actors record from their start is kept. A port already taken is
/// logged, not fatal: the bot itself works without its ops server.
pub async fn start(
    settings: &OpsSettings,
    vitals: Arc<Vitals>,
    database: DatabasePing,
    model: Arc<dyn LanguageModel>,
) -> Option<OpsServer> {
    let listen = settings.listen_addr()?;
    let state = OpsState::new(settings, vitals, metrics::install(), database);
    match OpsServer::start(listen, Arc::new(state), model).await {
        Ok(server) => Some(server),
        Err(error) => {
            tracing::error!(%error, listen, "could not start the ops server (ops.listen); running without /metrics and /readyz");
            None
        }
    }
}

/// The running server; dropping it leaves the server running, `stop` ends it.
pub struct OpsServer {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl OpsServer {
    /// Binds `listen` and serves `router(state)`, with the model probe and the metrics
    /// upkeep beside it.
    pub async fn start(
        listen: &str,
        state: Arc<OpsState>,
        model: Arc<dyn LanguageModel>,
    ) -> std::io::Result<OpsServer> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut until_stopped = stopped.clone();
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = until_stopped.wait_for(|s| *s).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "the ops server stopped");
            }
        });
        let background = tokio::spawn(background(state, model, stopped));
        tracing::info!(%addr, "ops server listening (/metrics, /healthz, /readyz)");
        Ok(OpsServer {
            addr,
            stop,
            tasks: vec![server, background],
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

/// Probes the model when it has been quiet for half the readiness window (so `/readyz`
/// never calls it), and folds histogram samples in for the next scrape.
async fn background(
    state: Arc<OpsState>,
    model: Arc<dyn LanguageModel>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let quiet = state.model_window / 2;
    let mut tick = tokio::time::interval(UPKEEP_EVERY.min(quiet.max(Duration::from_secs(1))));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        if state.vitals.model_silent_for().is_none_or(|d| d >= quiet)
            && let Err(error) = model.probe().await
        {
            tracing::debug!(%error, "the model server did not answer its probe");
        }
        if let Some(handle) = &state.metrics {
            handle.run_upkeep();
        }
    }
}
