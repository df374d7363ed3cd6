//! Running the ops routes: a background watch that probes the model while nothing else
//! talks to it (so `/readyz` never calls it) and folds histogram samples in, and the HTTP
//! listener on `ops.listen` when one is set. The state exists whenever the bot is
//! connected, so a server of the console's can mount `router` even with the listener off.

use super::{DatabasePing, OpsState, router};
use crate::config::OpsSettings;
use crate::ports::LanguageModel;
use crate::telemetry::metrics;
use crate::telemetry::vitals::Vitals;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often histograms are folded in even if nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The ops routes' state with its background watch and, if listening, the server.
pub struct Ops {
    pub state: Arc<OpsState>,
    /// Where the listener is bound (`None`: `ops.listen` is empty or could not be bound).
    pub addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Installs the metrics recorder, starts the watch, and listens on `ops.listen` if set. A
/// port already taken is logged, not fatal: the bot itself works without its ops server.
pub async fn start(
    settings: &OpsSettings,
    vitals: Arc<Vitals>,
    database: DatabasePing,
    model: Arc<dyn LanguageModel>,
) -> Ops {
    let state = Arc::new(OpsState::new(
        settings,
        vitals,
        metrics::install(),
        database,
    ));
    let (stop, stopped) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(watch_model(
        state.clone(),
        model,
        stopped.clone(),
    ))];
    let mut addr = None;
    if let Some(listen) = settings.listen_addr() {
        match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => {
                addr = listener.local_addr().ok();
                tasks.push(tokio::spawn(serve(listener, state.clone(), stopped)));
                tracing::info!(?addr, "ops server listening (/metrics, /healthz, /readyz)");
            }
            Err(error) => {
                tracing::error!(%error, listen, "could not listen on ops.listen; running without /metrics and /readyz")
            }
        }
    }
    Ops {
        state,
        addr,
        stop,
        tasks,
    }
}

impl Ops {
    /// Stops the listener and the watch.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<OpsState>,
    mut stopped: watch::Receiver<bool>,
) {
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(error) = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(%error, "the ops server stopped");
    }
}

/// Probes the model when it has been quiet for half the readiness window, and folds
/// histogram samples in for the next scrape.
async fn watch_model(
    state: Arc<OpsState>,
    model: Arc<dyn LanguageModel>,
    mut stopped: watch::Receiver<bool>,
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
