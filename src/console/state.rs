//! What every handler shares: the page templates, the sessions, the set-up state, the jobs
//! started from the console, and (once it runs) the bot's handles. A leaf module, so the
//! handlers can name it without naming the console's root.

use super::jobs::Jobs;
use super::sessions::Sessions;
use super::setup_state::Setup;
use super::view::Pages;
use crate::actors::jobs::{NewDay, NightlyConsolidation};
use crate::actors::periodic::PeriodicHandle;
use crate::actors::router::RouterHandle;
use crate::actors::store::StoreHandle;
use crate::config::Settings;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

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
    /// The bot's Discord identity once the gateway is READY (the invite link needs its id).
    pub identity: Arc<RwLock<Option<crate::domain::BotIdentity>>>,
    /// The chat platform's REST side: a server's emotes, as the reply prompt offers them.
    pub chat: Arc<dyn crate::ports::ChatPort>,
    /// What the ops routes serve (`/metrics`, `/healthz`, `/readyz`), mounted under `/ops/`.
    pub ops: Option<Arc<crate::ops::OpsState>>,
}

/// State every handler shares.
pub(crate) struct Shared {
    pub pages: Pages,
    pub sessions: Sessions,
    pub setup: Setup,
    pub bot: RwLock<Option<Arc<BotView>>>,
    pub jobs: Jobs,
}

impl Shared {
    /// The running bot, if set-up is done and it started.
    pub fn bot(&self) -> Option<Arc<BotView>> {
        self.bot.read().ok().and_then(|b| b.clone())
    }
}
