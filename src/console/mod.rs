//! The web console: set-up on the first run, then a dashboard, the persona, members and
//! their memories, per-server settings and the activity log, served by the bot itself.
//!
//! Why it looks like this:
//! - It is an adapter like `discord/`: every change it makes is one of the typed
//!   `StoreHandle` requests the slash commands send (one code path, one set of rules), and
//!   the reply path reads the database at reply time, so an edit shows in the next reply.
//! - Safe by default: loopback unless a password is set; login by a one-time code printed
//!   at start-up or that password; an HttpOnly, SameSite=Strict session cookie; a CSRF token
//!   in every form, checked for every POST by one middleware (`csrf`), so no handler can
//!   forget it; templates auto-escape everything (`view`).
//! - No CDN and no JavaScript needed: one stylesheet compiled into the binary, SVG charts
//!   drawn on the server (`chart`).
//!
//! # Layout
//! - `server`: binding (and refusing a non-loopback address without a password), routes.
//! - `state`: what every handler shares (`Shared`, `BotView`); `error`: `ConsoleError`.
//! - `sessions`: sessions, the one-time code, the password; `auth`: the login pages, the
//!   session middleware and the `Authed` extractor.
//! - `csrf`: the POST check. `view`: templates and the page frame.
//! - `setup`: the first-run page (`setup_state` its state, `checks` its checks of Discord and
//!   the model server); `.env`.
//! - `jobs`: consolidation and status runs started from the console (the log tail it
//!   streams is `telemetry::tail`).
//! - `pages/`: one file per area (dashboard, persona, members, settings, activity).

mod auth;
mod chart;
mod checks;
mod csrf;
mod error;
mod jobs;
mod latency;
mod pages;
mod server;
mod sessions;
mod setup;
mod setup_state;
mod state;
mod view;

pub use error::ConsoleError;
pub use sessions::hash_password;
pub use setup_state::SetupFiles;
pub use state::BotView;

use crate::config::Settings;
use state::Shared;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// The running console: its address, and the settings the set-up page produced.
pub struct Console {
    addr: SocketAddr,
    shared: Arc<Shared>,
    configured: watch::Receiver<Option<Settings>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    join: tokio::task::JoinHandle<()>,
}

impl Console {
    /// Binds `console.listen` and serves. `settings` are what the set-up page starts from.
    pub async fn start(settings: &Settings, files: SetupFiles) -> Result<Console, ConsoleError> {
        let (setup, configured) = setup_state::Setup::new(settings.clone(), files);
        let shared = Arc::new(Shared {
            pages: view::Pages::new()?,
            sessions: sessions::Sessions::new(&settings.console)?,
            setup,
            bot: RwLock::new(None),
            jobs: jobs::Jobs::default(),
        });
        let (addr, stop, join) = server::serve(&settings.console, shared.clone()).await?;
        Ok(Console {
            addr,
            shared,
            configured,
            stop: Some(stop),
            join,
        })
    }

    /// Where it listens (the real port when `console.listen` asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The login code valid now (each is good for one login).
    pub fn login_code(&self) -> String {
        self.shared.sessions.current_code()
    }

    /// Tells the operator where to go and with which code (stdout and the log).
    pub fn announce(&self) {
        let line = format!(
            "console: open http://{} and log in with the one-time code {}",
            self.addr,
            self.login_code()
        );
        tracing::info!("{line}");
        #[allow(clippy::print_stdout)]
        {
            println!("{line}");
        }
    }

    /// Waits until the set-up page has saved a working configuration; `None` if the console
    /// stopped first.
    pub async fn wait_for_setup(&mut self) -> Option<Settings> {
        let done = self.configured.wait_for(Option::is_some).await.ok()?;
        done.clone()
    }

    /// Shows the running bot from now on.
    pub fn attach(&self, bot: BotView) {
        if let Ok(mut slot) = self.shared.bot.write() {
            *slot = Some(Arc::new(bot));
        }
        self.shared.setup.mark_running();
    }

    /// Stops serving (open event streams end).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.join).await;
    }
}
