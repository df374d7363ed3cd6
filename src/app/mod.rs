//! Building and running the whole bot. `main` and the end-to-end tests both start it here,
//! so the tests exercise exactly what runs in production.

use crate::actors::conversation::{ConversationDeps, ReplyLimits};
use crate::actors::gateway::GatewayArgs;
use crate::actors::jobs::{BanLifting, NewDay, NightlyConsolidation, ProactiveTick};
use crate::actors::periodic::{PeriodicHandle, Schedule};
use crate::actors::router::RouterHandle;
use crate::actors::store::{Journal, StoreArgs, StoreHandle};
use crate::actors::supervisor::{JobArgs, RootArgs, RootSupervisor, SupervisorHandle};
use crate::actors::{ActorName, Slot};
use crate::config::Settings;
use crate::discord::DiscordChat;
use crate::discord::commands::CommandDeps;
use crate::discord::events::GatewayEvents;
use crate::discord::gateway::DiscordGateway;
use crate::domain::BotIdentity;
use crate::llm::OpenAiModel;
use crate::ports::{BanPort, ChatGateway, ChatPort, LanguageModel};
use crate::steps::ban_lifting::{BanLiftingDeps, UnrecordedCases};
use crate::steps::budget::BudgetGate;
use crate::steps::consolidation::ConsolidationDeps;
use crate::steps::daily::{DailyDeps, ensure_today};
use crate::steps::leases::Leases;
use crate::steps::proactive::ProactiveDeps;
use crate::steps::speaking::SpeakingDeps;
use crate::steps::standby::{Ownership, StandbyGateway};
use crate::store::Store;
use crate::store::lock::{SqliteLock, lock_database};
use crate::telemetry::vitals::Vitals;
use anyhow::Context as _;

pub mod launch;
mod resources;
use ractor::Actor;
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
        let Ports {
            llm,
            chat,
            bans,
            connect,
        } = ports;
        let vitals = Arc::new(Vitals::default());
        let connected = connect.is_some();
        if connected {
            vitals.expect_gateway();
            // Before any actor records anything.
            crate::telemetry::metrics::install();
        }
        // One circuit breaker in front of every model use (replies, judgements,
        // consolidation, status line, proactive posts); behind it, every call really made
        // is counted and timed, and stamps the vitals readiness reads.
        let llm = crate::llm::observed(llm, vitals.clone());
        let llm: Arc<dyn LanguageModel> = crate::llm::guarded(llm, &settings.overload);
        let instance = format!("bot-{}", uuid::Uuid::new_v4().simple());
        let journal = Arc::new(Journal::default());
        let store = StoreHandle::new(Slot::new(&instance, ActorName::Store), journal.clone());
        let alone = settings.database.url.starts_with("sqlite:");
        let ownership = Ownership::new(shards, connect.is_none() || alone);
        let leases = Leases::new(
            Arc::new(store.clone()),
            &instance,
            settings.discord.lease_ttl(),
        );
        let router = RouterHandle::new(Slot::new(&instance, ActorName::Router));
        let status = PeriodicHandle::new(Slot::new(&instance, ActorName::NewDay));
        let bot = Arc::new(RwLock::new(None::<BotIdentity>));
        let budget = Arc::new(BudgetGate::new(Arc::new(store.clone()), settings.budget));
        let speaking = Arc::new(SpeakingDeps {
            store: Arc::new(store.clone()),
            llm: llm.clone(),
            chat: chat.clone(),
            settings: settings.clone(),
            budget: budget.clone(),
        });
        let conversation = Arc::new(ConversationDeps {
            speaking,
            store: store.clone(),
            settings: settings.clone(),
            limits: ReplyLimits::new(
                settings.bot.user_replies_per_minute,
                settings.bot.channel_replies_per_minute,
            ),
        });
        let daily = Arc::new(DailyDeps {
            store: Arc::new(store.clone()),
            llm: llm.clone(),
            chat: chat.clone(),
            settings: settings.clone(),
            rng: DailyDeps::rng_from(&settings),
            budget: budget.clone(),
            leases: leases.clone(),
        });
        let consolidation = NightlyConsolidation {
            deps: Arc::new(ConsolidationDeps {
                store: Arc::new(store.clone()),
                llm: llm.clone(),
                settings: settings.clone(),
                budget,
                embeddings_missing: Default::default(),
                ownership: ownership.clone(),
            }),
            new_day: status.clone(),
        };
        let proactive = ProactiveTick(Arc::new(ProactiveDeps {
            store: Arc::new(store.clone()),
            channels: Arc::new(router.clone()),
            settings: settings.clone(),
            bot: bot.clone(),
            rng: DailyDeps::rng_from(&settings),
            ownership: ownership.clone(),
        }));
        let unrecorded = UnrecordedCases::default();
        let ban_lifting = BanLifting(Arc::new(BanLiftingDeps {
            store: Arc::new(store.clone()),
            discord: bans,
            bot: bot.clone(),
            policy: crate::steps::ban_lifting::lift_policy(&settings.moderation),
            unrecorded: unrecorded.clone(),
            ownership: ownership.clone(),
        }));
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let started_at = chrono::Utc::now();
        let (fatal_tx, fatal) = tokio::sync::watch::channel(None);
        let identity = bot.clone();
        let chat_port = chat.clone();
        let wiring = Wiring {
            settings: settings.clone(),
            router: router.clone(),
            store: store.clone(),
            daily: daily.clone(),
            bot,
            ready: ready_tx,
            started_at,
            unrecorded,
            vitals: vitals.clone(),
        };
        let gateway = connect.map(|connect| GatewayArgs {
            connection: StandbyGateway::wrap(connect(&wiring), leases, ownership.clone(), alone),
            fatal: fatal_tx,
        });
        let schedule = &settings.schedule;
        let args = RootArgs {
            instance: instance.clone(),
            store: StoreArgs {
                store: database.clone(),
                journal,
            },
            conversation,
            new_day: JobArgs {
                step: Arc::new(NewDay(daily.clone())),
                schedule: Schedule::OnRequest,
            },
            consolidation: JobArgs {
                step: Arc::new(consolidation),
                schedule: Schedule::Cron(schedule.consolidation_cron.clone()),
            },
            proactive: JobArgs {
                step: Arc::new(proactive),
                schedule: Schedule::Every(Duration::from_secs(schedule.proactive_interval_secs)),
            },
            bans: JobArgs {
                step: Arc::new(ban_lifting),
                schedule: Schedule::Every(Duration::from_millis(
                    settings.moderation.ban_check_interval_ms,
                )),
            },
            gateway,
        };
        let (_root, join) = Actor::spawn(
            Some(ActorName::Root.registered(&instance)),
            RootSupervisor,
            args,
        )
        .await
        .context("could not start the actor tree")?;
        // A mood and a status line from the very first start, not only after a nightly run.
        if let Err(error) = ensure_today(&daily, chrono::Utc::now()).await {
            tracing::warn!(%error, "could not start the day's mood and status");
        }
        let ops = match connected {
            true => Some(start_ops(&settings, vitals, &database, llm).await),
            false => None,
        };
        Ok(App {
            supervisor: SupervisorHandle::new(Slot::new(&instance, ActorName::Root)),
            consolidator: PeriodicHandle::new(Slot::new(&instance, ActorName::Consolidator)),
            proactive: PeriodicHandle::new(Slot::new(&instance, ActorName::Proactive)),
            bans: PeriodicHandle::new(Slot::new(&instance, ActorName::BanLifter)),
            status,
            instance,
            store,
            router,
            database,
            ownership,
            _db_lock: db_lock,
            settings,
            started_at,
            identity,
            chat: chat_port,
            console: None,
            ready,
            fatal,
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
