//! Building and running the whole bot. `main` and the end-to-end tests both start it here,
//! so the tests exercise exactly what runs in production.

use crate::actors::jobs::{BanLifting, NewDay, NightlyConsolidation, ProactiveTick};
use crate::actors::periodic::PeriodicHandle;
use crate::actors::router::RouterHandle;
use crate::actors::store::StoreHandle;
use crate::actors::supervisor::{SupervisorHandle, Tree};
use crate::config::Settings;
use crate::discord::DiscordChat;
use crate::discord::commands::CommandDeps;
use crate::discord::events::GatewayEvents;
use crate::discord::gateway::DiscordGateway;
use crate::domain::BotIdentity;
use crate::llm::OpenAiModel;
use crate::ports::{BanPort, ChatGateway, ChatPort, LanguageModel};
use crate::steps::ban_lifting::UnrecordedCases;
use crate::steps::daily::{DailyDeps, ensure_today};
use crate::steps::standby::Ownership;
use crate::store::Store;
use crate::store::lock::{SqliteLock, lock_database};
use crate::telemetry::vitals::Vitals;
use anyhow::Context as _;

pub mod launch;
mod resources;
mod wire;
pub use resources::open_store;
use resources::start_ops;
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
    pub consolidator: PeriodicHandle<NightlyConsolidation>,
    /// Rolls the day's mood and makes a new status line.
    pub status: PeriodicHandle<NewDay>,
    pub proactive: PeriodicHandle<ProactiveTick>,
    /// Lifts temporary bans (`run_at(Some(now), ..)` runs it with a chosen clock).
    pub bans: PeriodicHandle<BanLifting>,
    pub supervisor: SupervisorHandle,
    /// Direct database access for tests and maintenance commands.
    pub database: Store,
    /// The servers this process works on (its shards, while it holds them).
    pub ownership: Ownership,
    /// The exclusive lock on a SQLite file (one process per file), held until shutdown.
    _db_lock: Option<SqliteLock>,
    settings: Arc<Settings>,
    started_at: chrono::DateTime<chrono::Utc>,
    /// The bot's identity, set on READY.
    identity: Arc<RwLock<Option<BotIdentity>>>,
    /// The chat platform's REST side (the console's persona preview reads emotes with it).
    chat: Arc<dyn ChatPort>,
    /// The web console beside the bot (`launch` attaches it).
    console: Option<crate::console::Console>,
    ready: tokio::sync::watch::Receiver<bool>,
    fatal: tokio::sync::watch::Receiver<Option<String>>,
    join: tokio::task::JoinHandle<()>,
    /// The state of `/metrics`, `/healthz`, `/readyz` and their server (`ops.listen`),
    /// when the bot is connected.
    ops: Option<crate::ops::Ops>,
}

/// What the bot talks to: the model, the chat platform's REST side, and (optionally) the
/// live connection that brings events in. `App::start` builds the real ones from the
/// settings; tests pass their own.
pub struct Ports {
    pub llm: Arc<dyn LanguageModel>,
    pub chat: Arc<dyn ChatPort>,
    pub bans: Arc<dyn BanPort>,
    /// Builds the live connection once the actors it feeds have handles (`None`: no
    /// connection; events are delivered through `App::router` instead).
    pub connect: Option<Connect>,
}

/// Builds the live connection from what it is wired to.
pub type Connect = Box<dyn FnOnce(&Wiring) -> Arc<dyn ChatGateway> + Send>;

/// What a live connection is wired to.
pub struct Wiring {
    pub settings: Arc<Settings>,
    pub router: RouterHandle,
    pub store: StoreHandle,
    pub daily: Arc<DailyDeps>,
    /// The bot's identity, set on READY.
    pub bot: Arc<RwLock<Option<BotIdentity>>>,
    pub ready: tokio::sync::watch::Sender<bool>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Moderation cases the store could not write yet (written by the ban lifter).
    pub unrecorded: UnrecordedCases,
    /// Where the connection reports its shards' state (readiness, metrics).
    pub vitals: Arc<Vitals>,
}

impl App {
    /// Starts the actor tree and connects to Discord (when a token is configured).
    pub async fn start(settings: Settings) -> anyhow::Result<App> {
        Self::start_with(settings, Connection::Discord).await
    }

    /// Starts the actor tree; `Connection::Offline` leaves Discord alone (maintenance
    /// commands such as `consolidate`, and tests of the schedulers).
    pub async fn start_with(settings: Settings, connection: Connection) -> anyhow::Result<App> {
        Self::start_holding(settings, connection, None).await
    }

    /// `start_with`, keeping `held` (the SQLite file's lock, taken earlier by the caller)
    /// instead of taking it again: no other process can slip in between.
    pub(crate) async fn start_holding(
        mut settings: Settings,
        connection: Connection,
        held: Option<SqliteLock>,
    ) -> anyhow::Result<App> {
        crate::discord::resolve_shard_count(&mut settings, connection == Connection::Discord)
            .await
            .context("could not ask Discord how many shards to run (discord.shard_count: auto)")?;
        let llm: Arc<dyn LanguageModel> =
            Arc::new(OpenAiModel::new(&settings.llm).context("could not set up the LLM client")?);
        let chat = Arc::new(DiscordChat::new());
        let token = match connection {
            Connection::Discord => settings.discord.token.clone(),
            Connection::Offline => None,
        };
        let connect = token.map(|token| {
            let chat = chat.clone();
            Box::new(move |wiring: &Wiring| {
                let events = GatewayEvents {
                    router: wiring.router.clone(),
                    store: wiring.store.clone(),
                    daily: wiring.daily.clone(),
                    chat: chat.clone(),
                    bot: wiring.bot.clone(),
                    ready: wiring.ready.clone(),
                    vitals: wiring.vitals.clone(),
                };
                let commands = CommandDeps {
                    store: wiring.store.clone(),
                    router: wiring.router.clone(),
                    settings: wiring.settings.clone(),
                    started_at: wiring.started_at,
                    unrecorded: wiring.unrecorded.clone(),
                };
                Arc::new(DiscordGateway::new(
                    wiring.settings.clone(),
                    token,
                    events,
                    commands,
                    chat,
                )) as Arc<dyn ChatGateway>
            }) as Connect
        });
        let ports = Ports {
            llm,
            chat: chat.clone(),
            bans: chat,
            connect,
        };
        Self::start_wired(settings, ports, held).await
    }

    /// Starts the actor tree over the given ports: the same wiring as production, with
    /// whatever model and chat platform the caller brings (the in-process test tier passes
    /// stubs and delivers events straight to `App::router`).
    pub async fn start_with_ports(settings: Settings, ports: Ports) -> anyhow::Result<App> {
        Self::start_wired(settings, ports, None).await
    }

    async fn start_wired(
        settings: Settings,
        ports: Ports,
        held: Option<SqliteLock>,
    ) -> anyhow::Result<App> {
        let shards = settings.discord.shard_set()?;
        let db_lock = match held {
            Some(lock) => Some(lock),
            None => lock_database(&settings.database.url)?,
        };
        let settings = Arc::new(settings);
        let database = open_store(&settings).await?;
        let vitals = Arc::new(Vitals::default());
        let connected = ports.connect.is_some();
        if connected {
            vitals.expect_gateway();
            // Before any actor records anything.
            crate::telemetry::metrics::install();
        }
        // One circuit breaker in front of every model use (replies, judgements,
        // consolidation, status line, proactive posts); behind it, every call really made
        // is counted and timed, and stamps the vitals readiness reads.
        let llm = crate::llm::observed(ports.llm, vitals.clone());
        let llm: Arc<dyn LanguageModel> = crate::llm::guarded(llm, &settings.overload);
        let alone = settings.database.url.starts_with("sqlite:");
        let ownership = Ownership::new(shards, !connected || alone);
        let chat = ports.chat.clone();
        let mut tree = Tree::new(format!("bot-{}", uuid::Uuid::new_v4().simple()));
        let wired = wire::wire(
            &mut tree,
            wire::Given {
                settings: settings.clone(),
                database: database.clone(),
                llm: llm.clone(),
                chat: ports.chat,
                bans: ports.bans,
                connect: ports.connect,
                vitals: vitals.clone(),
                ownership: ownership.clone(),
                alone,
            },
        );
        let instance = tree.instance().to_owned();
        let (supervisor, join) = tree.start().await?;
        // A mood and a status line from the very first start, not only after a nightly run.
        if let Err(error) = ensure_today(&wired.daily, chrono::Utc::now()).await {
            tracing::warn!(%error, "could not start the day's mood and status");
        }
        let ops = match connected {
            true => Some(start_ops(&settings, vitals, &database, llm).await),
            false => None,
        };
        Ok(App {
            supervisor,
            consolidator: wired.consolidator,
            proactive: wired.proactive,
            bans: wired.bans,
            status: wired.status,
            instance,
            store: wired.store,
            router: wired.router,
            database,
            ownership,
            _db_lock: db_lock,
            settings,
            started_at: wired.started_at,
            identity: wired.identity,
            chat,
            console: None,
            ready: wired.ready,
            fatal: wired.fatal,
            join,
            ops,
        })
    }

    /// Where the ops server listens (`None`: not listening).
    pub fn ops_addr(&self) -> Option<std::net::SocketAddr> {
        self.ops.as_ref().and_then(|ops| ops.addr)
    }

    /// What `ops::router` serves, for mounting it on another server (`None`: offline).
    pub fn ops_state(&self) -> Option<Arc<crate::ops::OpsState>> {
        self.ops.as_ref().map(|ops| ops.state.clone())
    }

    /// Turns true once the gateway session is READY.
    pub fn ready_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.ready.clone()
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
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(console) = self.console.take() {
            console.shutdown().await;
        }
        self.supervisor
            .shutdown()
            .await
            .context("shutdown did not complete")?;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.join).await;
        if let Err(error) = self.database.close().await {
            tracing::warn!(%error, "database did not close cleanly");
        }
        if let Some(ops) = self.ops {
            ops.stop().await;
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
