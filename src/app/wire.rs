//! Every child of the actor tree and every step's dependencies, built in this one place.
//! A child's handle comes from registering it on the [`Tree`] and goes into whatever is
//! registered after it, so the registration order is the start order and the only list of
//! children there is. A new periodic job is one `tree.job(step, schedule)` line here.

use super::{Connect, Wiring};
use crate::actors::ActorName;
use crate::actors::conversation::{ConversationDeps, ReplyLimits};
use crate::actors::gateway::{Gateway, GatewayArgs};
use crate::actors::jobs::{BanLifting, NewDay, NightlyConsolidation, ProactiveTick};
use crate::actors::periodic::{PeriodicHandle, Schedule};
use crate::actors::router::{ConversationRouter, RouterHandle};
use crate::actors::store::{Journal, StoreActor, StoreArgs, StoreHandle};
use crate::actors::supervisor::{Stop, Tree};
use crate::config::Settings;
use crate::domain::BotIdentity;
use crate::ports::{BanPort, ChatPort, LanguageModel};
use crate::steps::ban_lifting::{BanLiftingDeps, UnrecordedCases, lift_policy};
use crate::steps::budget::BudgetGate;
use crate::steps::consolidation::ConsolidationDeps;
use crate::steps::daily::DailyDeps;
use crate::steps::leases::Leases;
use crate::steps::proactive::ProactiveDeps;
use crate::steps::speaking::SpeakingDeps;
use crate::steps::standby::{Ownership, StandbyGateway};
use crate::store::Store;
use crate::telemetry::vitals::Vitals;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The store gets this long to apply every queued write and flush its buffer.
const STORE_DRAIN: Duration = Duration::from_secs(30);
/// The gateway gets this long to close the connection.
const GATEWAY_STOP: Duration = Duration::from_secs(10);
/// The router's own stop, once its channels have drained.
const ROUTER_STOP: Duration = Duration::from_secs(5);

/// What the tree is built from.
pub(super) struct Given {
    pub settings: Arc<Settings>,
    pub database: Store,
    /// Already observed and guarded (`llm::observed`, `llm::guarded`).
    pub llm: Arc<dyn LanguageModel>,
    pub chat: Arc<dyn ChatPort>,
    pub bans: Arc<dyn BanPort>,
    pub connect: Option<Connect>,
    pub vitals: Arc<Vitals>,
    pub ownership: Ownership,
    /// Nobody else works on this database (SQLite): no leases to wait for.
    pub alone: bool,
}

/// The handles the app keeps, from registering the children.
pub(super) struct Wired {
    pub store: StoreHandle,
    pub router: RouterHandle,
    pub status: PeriodicHandle<NewDay>,
    pub consolidator: PeriodicHandle<NightlyConsolidation>,
    pub proactive: PeriodicHandle<ProactiveTick>,
    pub bans: PeriodicHandle<BanLifting>,
    pub daily: Arc<DailyDeps>,
    pub identity: Arc<RwLock<Option<BotIdentity>>>,
    pub ready: tokio::sync::watch::Receiver<bool>,
    pub fatal: tokio::sync::watch::Receiver<Option<String>>,
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// Registers every child on `tree`, in start order: the store first (everyone writes to
/// it), Discord last (its events need the router).
pub(super) fn wire(tree: &mut Tree, given: Given) -> Wired {
    let Given {
        settings,
        database,
        llm,
        chat,
        bans,
        connect,
        vitals,
        ownership,
        alone,
    } = given;
    let journal = Arc::new(Journal::default());
    let store_args = StoreArgs {
        store: database,
        journal: journal.clone(),
    };
    let store_slot = tree.child(
        ActorName::Store,
        || StoreActor,
        store_args,
        Stop::Drain(STORE_DRAIN),
    );
    let store = StoreHandle::new(store_slot, journal);
    let leases = Leases::new(
        Arc::new(store.clone()),
        tree.instance(),
        settings.discord.lease_ttl(),
    );
    let budget = Arc::new(BudgetGate::new(Arc::new(store.clone()), settings.budget));
    let bot = Arc::new(RwLock::new(None::<BotIdentity>));

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
    let router = RouterHandle::new(tree.child(
        ActorName::Router,
        || ConversationRouter,
        conversation,
        Stop::After(RouterHandle::drain_on_shutdown, ROUTER_STOP),
    ));

    let daily = Arc::new(DailyDeps {
        store: Arc::new(store.clone()),
        llm: llm.clone(),
        chat,
        settings: settings.clone(),
        rng: DailyDeps::rng_from(&settings),
        budget: budget.clone(),
        leases: leases.clone(),
    });
    let status = tree.job(NewDay(daily.clone()), Schedule::OnRequest);

    let consolidation = NightlyConsolidation {
        deps: Arc::new(ConsolidationDeps {
            store: Arc::new(store.clone()),
            llm,
            settings: settings.clone(),
            budget,
            embeddings_missing: Default::default(),
            ownership: ownership.clone(),
        }),
        new_day: status.clone(),
    };
    let schedule = &settings.schedule;
    let consolidator = tree.job(
        consolidation,
        Schedule::Cron(schedule.consolidation_cron.clone()),
    );

    let proactive = ProactiveTick(Arc::new(ProactiveDeps {
        store: Arc::new(store.clone()),
        channels: Arc::new(router.clone()),
        settings: settings.clone(),
        bot: bot.clone(),
        rng: DailyDeps::rng_from(&settings),
        ownership: ownership.clone(),
    }));
    let every = Duration::from_secs(schedule.proactive_interval_secs);
    let proactive = tree.job(proactive, Schedule::Every(every));

    let unrecorded = UnrecordedCases::default();
    let ban_lifting = BanLifting(Arc::new(BanLiftingDeps {
        store: Arc::new(store.clone()),
        discord: bans,
        bot: bot.clone(),
        policy: lift_policy(&settings.moderation),
        unrecorded: unrecorded.clone(),
        ownership: ownership.clone(),
    }));
    let every = Duration::from_millis(settings.moderation.ban_check_interval_ms);
    let bans = tree.job(ban_lifting, Schedule::Every(every));

    let (ready_tx, ready) = tokio::sync::watch::channel(false);
    let (fatal_tx, fatal) = tokio::sync::watch::channel(None);
    let started_at = chrono::Utc::now();
    if let Some(connect) = connect {
        let wiring = Wiring {
            settings: settings.clone(),
            router: router.clone(),
            store: store.clone(),
            daily: daily.clone(),
            bot: bot.clone(),
            ready: ready_tx,
            started_at,
            unrecorded,
            vitals,
        };
        let connection = StandbyGateway::wrap(connect(&wiring), leases, ownership, alone);
        let args = GatewayArgs {
            connection,
            fatal: fatal_tx,
        };
        tree.child(
            ActorName::Gateway,
            || Gateway,
            args,
            Stop::Within(GATEWAY_STOP),
        );
    }
    Wired {
        store,
        router,
        status,
        consolidator,
        proactive,
        bans,
        daily,
        identity: bot,
        ready,
        fatal,
        started_at,
    }
}
