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
//! - `auth`: sessions, the one-time code, the password, the `Authed` extractor.
//! - `csrf`: the POST check. `view`: templates and the page frame.
//! - `setup`: the first-run page, its checks of Discord and the model server, `.env`.
//! - `pages/`: one file per area (dashboard, persona, members, settings, activity).

mod auth;
mod chart;
mod checks;
mod csrf;
pub mod logs;
mod pages;
mod server;
mod setup;
mod view;

pub use auth::hash_password;
pub use setup::SetupFiles;

use crate::actors::jobs::{NewDay, NightlyConsolidation};
use crate::actors::periodic::PeriodicHandle;
use crate::actors::router::RouterHandle;
use crate::actors::store::StoreHandle;
use crate::config::Settings;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console.listen `{0}` is not an ip:port address")]
    BadAddress(String),
    #[error(
        "refusing to serve the console on {0}, which is not a loopback address, without a \
         password: set console.password_hash (personabot hash-password), or listen on 127.0.0.1"
    )]
    OpenWithoutPassword(SocketAddr),
    #[error("console.password_hash is not an argon2 hash: {0}")]
    BadPasswordHash(String),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("console templates: {0}")]
    Templates(String),
}

/// What the console reaches of the running bot: the same handles the slash commands use.
#[derive(Clone)]
pub struct BotView {
    pub store: StoreHandle,
    pub router: RouterHandle,
    pub consolidator: PeriodicHandle<NightlyConsolidation>,
    pub status: PeriodicHandle<NewDay>,
    pub settings: Arc<Settings>,
    /// True while the gateway session is READY.
    pub ready: watch::Receiver<bool>,
    /// When the bot started, for the dashboard.
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// State every handler shares.
pub(crate) struct Shared {
    pub pages: view::Pages,
    pub sessions: auth::Sessions,
    pub setup: setup::Setup,
    pub bot: RwLock<Option<Arc<BotView>>>,
    pub jobs: pages::activity::Jobs,
}

impl Shared {
    /// The running bot, if set-up is done and it started.
    pub fn bot(&self) -> Option<Arc<BotView>> {
        self.bot.read().ok().and_then(|b| b.clone())
    }
}

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
        let (setup, configured) = setup::Setup::new(settings.clone(), files);
        let shared = Arc::new(Shared {
            pages: view::Pages::new()?,
            sessions: auth::Sessions::new(&settings.console)?,
            setup,
            bot: RwLock::new(None),
            jobs: pages::activity::Jobs::default(),
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
