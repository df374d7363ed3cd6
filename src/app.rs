//! Building and running the whole bot. `main` and the end-to-end tests both start it here,
//! so the tests exercise exactly what runs in production.

use crate::actors::Slot;
use crate::actors::consolidator::ConsolidatorHandle;
use crate::actors::conversation::{BotIdentity, ConversationDeps, ReplyLimits};
use crate::actors::gateway::GatewayArgs;
use crate::actors::moderation::BanLifterHandle;
use crate::actors::proactive::ProactiveHandle;
use crate::actors::router::RouterHandle;
use crate::actors::status::StatusHandle;
use crate::actors::store::StoreHandle;
use crate::actors::supervisor::{RootArgs, RootSupervisor, SupervisorHandle};
use crate::config::Settings;
use crate::consolidation::ConsolidationDeps;
use crate::daily::DailyDeps;
use crate::discord::DiscordChat;
use crate::llm::{LanguageModel, OpenAiModel};
use crate::moderation::ModerationDeps;
use crate::proactive::ProactiveDeps;
use crate::store::{Store, StoreOptions};
use anyhow::Context as _;
use ractor::Actor;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Whether the app connects to Discord.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Discord,
    Offline,
}

pub struct App {
    pub instance: String,
    pub store: StoreHandle,
    pub router: RouterHandle,
    pub consolidator: ConsolidatorHandle,
    pub status: StatusHandle,
    pub proactive: ProactiveHandle,
    /// Lifts temporary bans (`lift_due(Some(now))` runs it with a chosen clock).
    pub bans: BanLifterHandle,
    pub supervisor: SupervisorHandle,
    /// Direct database access for tests and maintenance commands.
    pub database: Store,
    ready: tokio::sync::watch::Receiver<bool>,
    fatal: tokio::sync::watch::Receiver<Option<String>>,
    join: tokio::task::JoinHandle<()>,
}

/// Opens (creating and migrating if needed) the configured database.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_read_connections: settings.database.max_read_connections,
        busy_timeout: Duration::from_millis(settings.database.busy_timeout_ms),
    };
    Store::connect(&settings.database.url, options)
        .await
        .with_context(|| {
            format!(
                "could not open the database at {}",
                redact_url(&settings.database.url)
            )
        })
}

/// Hides a password in a database URL before it is shown.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl App {
    /// Starts the actor tree and connects to Discord (when a token is configured).
    pub async fn start(settings: Settings) -> anyhow::Result<App> {
        Self::start_with(settings, Connection::Discord).await
    }

    /// Starts the actor tree; `Connection::Offline` leaves Discord alone (maintenance
    /// commands such as `consolidate`, and tests of the schedulers).
    pub async fn start_with(mut settings: Settings, connection: Connection) -> anyhow::Result<App> {
        if connection == Connection::Offline {
            settings.discord.token = None;
        }
        let settings = Arc::new(settings);
        // Builds the tokenizer (about 0.1 s in release, 1 s in debug) off the async workers,
        // so the first reply after start does not stall a runtime thread building it.
        tokio::task::spawn_blocking(|| crate::domain::budget::count_tokens("warm up"));
        let database = open_store(&settings).await?;
        let llm: Arc<dyn LanguageModel> =
            Arc::new(OpenAiModel::new(&settings.llm).context("could not set up the LLM client")?);
        let instance = format!("bot-{}", uuid::Uuid::new_v4().simple());
        let store = StoreHandle::new(Slot::new(&instance, "store"));
        let router = RouterHandle::new(Slot::new(&instance, "router"));
        let chat = Arc::new(DiscordChat::new());
        let conversation = Arc::new(ConversationDeps {
            store: store.clone(),
            llm: llm.clone(),
            chat: chat.clone(),
            settings: settings.clone(),
            limits: ReplyLimits::new(
                settings.bot.user_replies_per_minute,
                settings.bot.channel_replies_per_minute,
            ),
        });
        let bot = Arc::new(RwLock::new(None::<BotIdentity>));
        let consolidation = Arc::new(ConsolidationDeps {
            store: store.clone(),
            llm: llm.clone(),
            settings: settings.clone(),
        });
        let daily = Arc::new(DailyDeps {
            store: store.clone(),
            llm: llm.clone(),
            chat: chat.clone(),
            settings: settings.clone(),
            rng: DailyDeps::rng_from(&settings),
        });
        let proactive = Arc::new(ProactiveDeps {
            store: store.clone(),
            router: router.clone(),
            settings: settings.clone(),
            bot: bot.clone(),
            rng: DailyDeps::rng_from(&settings),
        });
        let moderation = Arc::new(ModerationDeps {
            store: store.clone(),
            discord: chat.clone(),
            bot: bot.clone(),
        });
        let status = StatusHandle::new(Slot::new(&instance, "status"));
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let (fatal_tx, fatal) = tokio::sync::watch::channel(None);
        let gateway = settings.discord.token.clone().map(|token| GatewayArgs {
            settings: settings.clone(),
            token,
            router: router.clone(),
            store: store.clone(),
            status: status.clone(),
            chat: chat.clone(),
            bot: bot.clone(),
            ready: ready_tx,
            fatal: fatal_tx,
            started_at: chrono::Utc::now(),
        });
        let args = RootArgs {
            instance: instance.clone(),
            store: database.clone(),
            conversation,
            consolidation,
            daily,
            proactive,
            moderation,
            gateway,
        };
        let (_root, join) = Actor::spawn(Some(format!("{instance}:root")), RootSupervisor, args)
            .await
            .context("could not start the actor tree")?;
        Ok(App {
            supervisor: SupervisorHandle::new(Slot::new(&instance, "root")),
            consolidator: ConsolidatorHandle::new(Slot::new(&instance, "consolidator")),
            proactive: ProactiveHandle::new(Slot::new(&instance, "proactive")),
            bans: BanLifterHandle::new(Slot::new(&instance, "ban_lifter")),
            status,
            instance,
            store,
            router,
            database,
            ready,
            fatal,
            join,
        })
    }

    /// Waits until the gateway session is READY.
    pub async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let mut ready = self.ready.clone();
        tokio::time::timeout(timeout, ready.wait_for(|r| *r))
            .await
            .context("timed out waiting for the Discord gateway")?
            .context("the gateway stopped before it was ready")?;
        Ok(())
    }

    /// Graceful stop: no new events, replies finish, buffered writes are flushed.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.supervisor
            .shutdown()
            .await
            .context("shutdown did not complete")?;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.join).await;
        if let Err(error) = self.database.close().await {
            tracing::warn!(%error, "database did not close cleanly");
        }
        Ok(())
    }

    /// Runs until `signal` resolves (SIGINT/SIGTERM in `main`) or Discord refuses the bot
    /// for good, then shuts down.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        let mut fatal = self.fatal.clone();
        let refused = tokio::select! {
            () = signal => None,
            changed = fatal.wait_for(Option::is_some) => changed.ok().and_then(|v| v.clone()),
            _ = &mut self.join => {
                anyhow::bail!("the actor tree stopped unexpectedly; see the log above");
            }
        };
        tracing::info!("shutting down");
        self.shutdown().await?;
        match refused {
            Some(why) => Err(anyhow::anyhow!(why)),
            None => Ok(()),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
