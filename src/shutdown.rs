//! How the process is asked to stop: Ctrl-C, or SIGTERM from `docker stop` and systemd.
//! Kept apart from `app` so the handler can be installed before the app starts.

/// Resolves on Ctrl-C or SIGTERM (`docker stop`, systemd). SIGTERM is caught from this call
/// on: call it before `App::start`, so one sent during start-up still shuts down gracefully.
pub fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "could not listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match sigterm {
                Ok(mut sigterm) => {
                    sigterm.recv().await;
                }
                Err(error) => {
                    tracing::error!(%error, "could not listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = terminate => {}
        }
    }
}
