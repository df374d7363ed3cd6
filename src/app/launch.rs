//! Start-up with the web console: the console comes up first, so a fresh install with no
//! Discord token opens its set-up page instead of exiting; once a token is configured
//! (already, or by that page) the bot starts in the same process and the console attaches
//! to it. `main` and the console's browser tests both start the bot here.

use super::{App, Connection};
use crate::config::Settings;
use crate::console::{Console, SetupFiles};
use crate::store::lock::{SqliteLock, lock_database};
use anyhow::Context as _;
use std::net::SocketAddr;

/// The console (if enabled) and the settings the bot will start with.
pub struct Launch {
    settings: Settings,
    console: Option<Console>,
    /// The SQLite file's lock, taken before the console binds and handed to the bot.
    db_lock: Option<SqliteLock>,
}

/// Starts the console when `console.enabled` and prints where to log in. Without the
/// console, a missing token is the same error as before.
pub async fn launch(settings: Settings, files: SetupFiles) -> anyhow::Result<Launch> {
    if !settings.console.enabled {
        settings.require_token()?;
        return Ok(Launch {
            settings,
            console: None,
            db_lock: None,
        });
    }
    // Another process on this SQLite file: say so before the console takes a port (its
    // console would hold the same one). The lock is kept and handed to the bot.
    let db_lock = lock_database(&settings.database.url)?;
    let console = Console::start(&settings, files)
        .await
        .context("could not start the console")?;
    console.announce();
    Ok(Launch {
        settings,
        console: Some(console),
        db_lock,
    })
}

impl Launch {
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console.as_ref().map(Console::addr)
    }

    pub fn login_code(&self) -> Option<String> {
        self.console.as_ref().map(Console::login_code)
    }

    /// Waits for the set-up page when no token is configured, then starts the bot with
    /// the console attached.
    pub async fn into_app(mut self) -> anyhow::Result<App> {
        let mut settings = self.settings;
        let locked_url = settings.database.url.clone();
        if settings.discord.token.is_none() {
            let console = self
                .console
                .as_mut()
                .context("no Discord token and no console to set one up")?;
            tracing::info!("no Discord token yet: finish the set-up in the console");
            settings = console
                .wait_for_setup()
                .await
                .context("the console stopped before set-up was done")?;
        }
        // The lock is for the file the settings named at launch (set-up does not change it).
        let held = self
            .db_lock
            .take()
            .filter(|_| settings.database.url == locked_url);
        let mut app = App::start_holding(settings, Connection::Discord, held).await?;
        if let Some(console) = self.console.take() {
            console.attach(app.console_view());
            app.console = Some(console);
        }
        Ok(app)
    }
}

/// The console's view of a running bot.
impl App {
    /// What the web console reaches of this bot: the slash commands' own handles.
    pub fn console_view(&self) -> crate::console::BotView {
        crate::console::BotView {
            store: self.store.clone(),
            router: self.router.clone(),
            consolidator: self.consolidator.clone(),
            status: self.status.clone(),
            settings: self.settings.clone(),
            ready: self.ready.clone(),
            started_at: self.started_at,
            identity: self.identity.clone(),
            chat: self.chat.clone(),
            ops: self.ops_state(),
        }
    }

    /// Where the console listens, when it runs beside this bot.
    pub fn console_addr(&self) -> Option<std::net::SocketAddr> {
        self.console.as_ref().map(crate::console::Console::addr)
    }

    /// The console's current one-time login code, when it runs beside this bot.
    pub fn console_login_code(&self) -> Option<String> {
        self.console
            .as_ref()
            .map(crate::console::Console::login_code)
    }
}
