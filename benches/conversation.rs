//! Conversation benchmark: prints figures, asserts nothing (`cargo bench --bench conversation`).
//!
//! (d) a flood of 10,000 messages/s over 5,000 channels for 10 s, then quiet: live actors and
//!     RSS after idle channel actors have stopped, against the idle figure.
//! (c) memory per idle ConversationActor: process RSS (`VmRSS`) before and after 10,000
//!     channels each receive one message (goal ≤ 20 KB per actor, 10,000 channels ≤ 300 MB).
//!     Real StoreActor (SQLite) and ConversationRouter; stub LLM and chat ports, so the
//!     fake servers' own memory is not counted. Printed twice: raw, and after glibc's
//!     `malloc_trim(0)`; the difference is heap the burst of 10,000 simultaneous messages
//!     used and freed, which glibc keeps mapped (fragmented between live allocations).
//! (a) bot overhead from trigger to LLM request, channel with 5,000 messages in the last
//!     24 h and a member with 200 facts, SQLite (goal p99 ≤ 5 ms). Timed from handing the
//!     message to the ConversationRouter to the LLM port's `complete` call: the channel
//!     policy read, logging, trigger rules, rate limit, the reply's store reads, emote list,
//!     token budget and prompt rendering, through the real actors; no HTTP on either side.
//! (a') the same data through the whole app: MESSAGE_CREATE dispatched by the fake Discord
//!     to the fake OpenAI server receiving the chat request (adds the fake gateway,
//!     serenity, async-openai and loopback HTTP; an upper bound).
//! (b) MESSAGE_CREATE to reply POSTed, whole app, zero-latency fake LLM (goal p50 ≤ 10 ms),
//!     on a fresh channel and on the heavy one.
//!
//! Relationship judgements are off and the rate limits raised, so each sample is one reply.

#[path = "../tests/common/stubs.rs"]
mod stubs;

use chrono::{Duration, Utc};
use fakes::{FakeDiscord, FakeOpenAi, World, ids};
use personabot::actors::ActorName;
use personabot::actors::conversation::{ConversationDeps, ReplyLimits};
use personabot::actors::router::{ConversationRouter, RouterHandle};
use personabot::actors::store::{StoreActor, StoreArgs, StoreHandle};
use personabot::actors::supervisor::{Stop, SupervisorHandle, Tree};
use personabot::app::App;
use personabot::config::{Settings, Sources};
use personabot::domain::budget;
use personabot::domain::{BotIdentity, ChannelEvent, IncomingMessage};
use personabot::domain::{ChannelId, GuildId, LoggedMessage, MessageId, NewFact, UserId};
use personabot::steps::speaking::SpeakingDeps;
use personabot::store::{Store, StoreOptions};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};
use stubs::{StubChat, StubModel};
use tokio::sync::mpsc;

const BOT: u64 = ids::BOT;
const ALICE: u64 = ids::ALICE;
const HEAVY_CHANNEL: u64 = ids::GENERAL;
const WINDOW_MESSAGES: u64 = 5_000;
const FACTS: usize = 200;
const IDLE_CHANNELS: u64 = 10_000;
const DIRECT_SAMPLES: usize = 500;
const APP_SAMPLES: usize = 300;
const WARMUP: usize = 20;
const WAIT: StdDuration = StdDuration::from_secs(20);

fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn summary(times: &mut [StdDuration]) -> String {
    times.sort();
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(times, 0.50),
        percentile(times, 0.90),
        percentile(times, 0.99),
        percentile(times, 1.0)
    )
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn settings(extra: &[(&str, String)]) -> anyhow::Result<Settings> {
    let mut env: Vec<(String, String)> = vec![
        ("PERSONABOT__BOT__NAME".into(), "testbot".into()),
        (
            "PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT".into(),
            "false".into(),
        ),
        (
            "PERSONABOT__BOT__USER_REPLIES_PER_MINUTE".into(),
            "1000000".into(),
        ),
        (
            "PERSONABOT__BOT__CHANNEL_REPLIES_PER_MINUTE".into(),
            "1000000".into(),
        ),
        ("PERSONABOT__LLM__MAX_RETRIES".into(), "0".into()),
        // Every mention here must be answered: no queue cap, no age limit, no budget.
        (
            "PERSONABOT__OVERLOAD__MAX_PENDING_REPLIES".into(),
            "1000000".into(),
        ),
        (
            "PERSONABOT__OVERLOAD__MAX_MENTION_AGE_SECS".into(),
            "86400".into(),
        ),
        ("PERSONABOT__BUDGET__GLOBAL_DAILY_TOKENS".into(), "0".into()),
        ("PERSONABOT__BUDGET__SERVER_DAILY_TOKENS".into(), "0".into()),
        ("PERSONABOT__BUDGET__MEMBER_DAILY_TOKENS".into(), "0".into()),
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).to_owned(), v.clone()));
    }
    Ok(Settings::load(Sources { file: None, env })?)
}

fn logged(
    id: u64,
    channel: u64,
    author: u64,
    at: chrono::DateTime<Utc>,
    content: String,
) -> LoggedMessage {
    LoggedMessage {
        id: MessageId(id),
        channel_id: ChannelId(channel),
        guild_id: Some(GuildId(ids::GUILD)),
        author_id: UserId(author),
        author_name: format!("member{}", author % 100),
        is_bot: author == BOT,
        content,
        reply_to: None,
        created_at: at,
    }
}

/// 5,000 messages in the channel's last 24 h (a third of them alice's) and 200 facts
/// about alice.
async fn seed_heavy(store: &Store) -> anyhow::Result<()> {
    let now = Utc::now();
    let msgs: Vec<_> = (0..WINDOW_MESSAGES)
        .map(|i| {
            let author = if i % 3 == 0 { ALICE } else { 5_000 + i % 40 };
            logged(
                10_000 + i,
                HEAVY_CHANNEL,
                author,
                now - Duration::hours(23) + Duration::milliseconds(i as i64 * 16_000),
                format!(
                    "message {i}: an ordinary line of chat about games, food and the weather today."
                ),
            )
        })
        .collect();
    for chunk in msgs.chunks(500) {
        store.append_messages(chunk).await?;
    }
    for i in 0..FACTS {
        let fact = NewFact {
            guild_id: GuildId(ids::GUILD),
            user_id: UserId(ALICE),
            fact: format!(
                "alice mentioned detail number {i}: likes thing {i} and dislikes thing {}",
                i + 1
            ),
            category: "preference".into(),
            embedding: None,
        };
        store
            .insert_fact(&fact, now - Duration::minutes(i as i64))
            .await?;
    }
    Ok(())
}

/// StoreActor + ConversationRouter on a fresh SQLite file, with the stub ports.
struct Actors {
    router: RouterHandle,
    store: StoreHandle,
    database: Store,
    asked: mpsc::UnboundedReceiver<Instant>,
    sent: mpsc::UnboundedReceiver<MessageId>,
    supervisor: SupervisorHandle,
}

async fn start_actors(name: &str, url: &str, extra: &[(&str, String)]) -> anyhow::Result<Actors> {
    let mut all = vec![("PERSONABOT__DATABASE__URL", url.to_owned())];
    all.extend_from_slice(extra);
    let settings = Arc::new(settings(&all)?);
    let options = StoreOptions {
        max_read_connections: settings.database.max_read_connections,
        busy_timeout: StdDuration::from_millis(settings.database.busy_timeout_ms),
    };
    let database = Store::connect(url, options).await?;
    let (asked_tx, asked) = mpsc::unbounded_channel();
    let (sent_tx, sent) = mpsc::unbounded_channel();
    let store_args = StoreArgs {
        store: database.clone(),
        journal: Arc::default(),
    };
    let journal = store_args.journal.clone();
    let mut tree = Tree::new(name);
    let drain = Stop::Drain(StdDuration::from_secs(30));
    let store_slot = tree.child(ActorName::Store, || StoreActor, store_args, drain);
    let store = StoreHandle::new(store_slot, journal);
    let speaking = Arc::new(SpeakingDeps {
        store: Arc::new(store.clone()),
        llm: Arc::new(StubModel::reporting(asked_tx)),
        chat: Arc::new(StubChat::reporting(sent_tx)),
        settings: settings.clone(),
        budget: Arc::new(personabot::steps::budget::BudgetGate::new(
            Arc::new(store.clone()),
            settings.budget,
        )),
    });
    let deps = Arc::new(ConversationDeps {
        speaking,
        store: store.clone(),
        limits: ReplyLimits::new(
            settings.bot.user_replies_per_minute,
            settings.bot.channel_replies_per_minute,
        ),
        settings,
    });
    let stop = Stop::After(RouterHandle::drain_on_shutdown, StdDuration::from_secs(30));
    let router =
        RouterHandle::new(tree.child(ActorName::Router, || ConversationRouter, deps, stop));
    let (supervisor, _) = tree.start().await?;
    Ok(Actors {
        router,
        store,
        database,
        asked,
        sent,
        supervisor,
    })
}

impl Actors {
    async fn stop(self) {
        if let Err(error) = self.supervisor.shutdown().await {
            eprintln!("the actors did not stop cleanly: {error}");
        }
    }
}

fn event(id: u64, channel: u64, author: u64, content: String, mentions_bot: bool) -> ChannelEvent {
    ChannelEvent::Message {
        bot: BotIdentity {
            id: UserId(BOT),
            name: "testbot".into(),
        },
        incoming: IncomingMessage {
            message: logged(id, channel, author, Utc::now(), content),
            mentions: if mentions_bot {
                vec![UserId(BOT)]
            } else {
                Vec::new()
            },
            mentions_everyone: false,
            replied_to_author: None,
            author_username: format!("member{}", author % 100),
            author_display: None,
        },
    }
}

// glibc: returns the free pages inside the heap to the OS. Freed memory otherwise stays
// in the process's RSS, so without it RSS shows the peak of the burst, not what is kept.
unsafe extern "C" {
    fn malloc_trim(pad: usize) -> i32;
}

fn trimmed_rss_kb() -> u64 {
    // SAFETY: malloc_trim only releases free memory; it touches no live allocation.
    unsafe {
        malloc_trim(0);
    }
    rss_kb()
}

async fn idle_actor_memory() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/idle.sqlite?mode=rwc", dir.path().display());
    let actors = start_actors("bench-idle", &url, &[]).await?;
    let deliver = |range: std::ops::Range<u64>| {
        let router = actors.router.clone();
        async move {
            for i in range {
                let channel = 1_000_000 + i;
                router
                    .deliver(event(
                        50_000_000 + i,
                        channel,
                        6_000 + i % 500,
                        format!("just chatting in channel {i}"),
                        false,
                    ))
                    .await;
            }
        }
    };
    // Every message logged (so every channel actor has handled its message and is idle).
    let settle = |n: u64| {
        let database = actors.database.clone();
        async move {
            let deadline = Instant::now() + StdDuration::from_secs(300);
            loop {
                let logged = database
                    .count_messages_since(None, Utc::now() - Duration::hours(1))
                    .await
                    .unwrap_or(0);
                if logged >= n || Instant::now() > deadline {
                    return logged;
                }
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
        }
    };
    // Warm up: a few hundred channels so pools, caches and the allocator are in use.
    let warm = 500;
    deliver(0..warm).await;
    settle(warm).await;
    let before = trimmed_rss_kb();
    let start = Instant::now();
    deliver(warm..warm + IDLE_CHANNELS).await;
    let logged = settle(warm + IDLE_CHANNELS).await;
    let took = start.elapsed();
    let live = actors.router.channel_count().await.unwrap_or(0);
    let raw = rss_kb();
    let kept = trimmed_rss_kb();
    let per = |after: u64| after.saturating_sub(before) as f64 / IDLE_CHANNELS as f64;
    println!(
        "(c) {IDLE_CHANNELS} more channels, one message each, all at once ({live} live actors, {logged} messages logged in {:.1} s):",
        took.as_secs_f64()
    );
    println!(
        "    RSS {:.1} MB -> {:.1} MB: {:.1} KB per channel; after malloc_trim {:.1} MB: {:.1} KB per idle channel actor (goal <= 20 KB, 10,000 channels <= 300 MB)",
        before as f64 / 1024.0,
        raw as f64 / 1024.0,
        per(raw),
        kept as f64 / 1024.0,
        per(kept),
    );
    actors.stop().await;
    Ok(())
}

async fn direct_overhead() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/direct.sqlite?mode=rwc", dir.path().display());
    let mut actors = start_actors("bench-direct", &url, &[]).await?;
    seed_heavy(&actors.database).await?;
    let mut times = Vec::with_capacity(DIRECT_SAMPLES);
    for i in 0..WARMUP + DIRECT_SAMPLES {
        let id = 90_000_000 + i as u64;
        let content = format!("<@{BOT}> question number {i}: what do you think about that?");
        let start = Instant::now();
        actors
            .router
            .deliver(event(id, HEAVY_CHANNEL, ALICE, content, true))
            .await;
        let asked = tokio::time::timeout(WAIT, actors.asked.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("LLM port gone"))?;
        // Let the reply finish before the next trigger, so samples do not overlap.
        while tokio::time::timeout(WAIT, actors.sent.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("chat port gone"))?
            != MessageId(id)
        {}
        if i >= WARMUP {
            times.push(asked.duration_since(start));
        }
    }
    // Where the time goes: the reply's store reads, and the token budget over what they return.
    let settings = settings(&[])?;
    let (mut reads, mut budget) = (Vec::new(), Vec::new());
    let mut counted = 0;
    for _ in 0..200 {
        let since = Utc::now() - Duration::hours(24);
        let start = Instant::now();
        let inputs = actors
            .store
            .reply_inputs(
                ChannelId(HEAVY_CHANNEL),
                personabot::domain::ServerMember::new(GuildId(ids::GUILD), UserId(ALICE)),
                since,
                settings.bot.transcript_max_messages,
            )
            .await?;
        reads.push(start.elapsed());
        let keep = inputs.transcript.last().map(|m| m.id).into_iter().collect();
        let start = Instant::now();
        let fitted = budget::fit_transcript(
            &inputs.transcript,
            &keep,
            settings.bot.transcript_token_budget,
            |m| format!("{}: {}", m.author_name, m.content),
        );
        budget.push(start.elapsed());
        counted = inputs.transcript.len();
        std::hint::black_box(fitted);
    }
    println!(
        "    (a) part: reply_inputs through the StoreActor ({counted} messages, {FACTS} facts): {}",
        summary(&mut reads)
    );
    println!(
        "    (a) part: token budget over them ({} tokens): {}",
        settings.bot.transcript_token_budget,
        summary(&mut budget)
    );
    println!(
        "(a) trigger -> LLM request, direct (real actors + SQLite, stub ports), {WINDOW_MESSAGES} msgs in 24 h, {FACTS} facts, {DIRECT_SAMPLES} replies: {} (goal p99 <= 5 ms)",
        summary(&mut times)
    );
    actors.stop().await;
    Ok(())
}

/// The whole app against the fakes; returns (trigger -> fake OpenAI request, trigger -> reply
/// POSTed) samples.
async fn through_the_app(heavy: bool) -> anyhow::Result<(Vec<StdDuration>, Vec<StdDuration>)> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/app.sqlite?mode=rwc", dir.path().display());
    if heavy {
        let options = StoreOptions {
            max_read_connections: 1,
            busy_timeout: StdDuration::from_secs(5),
        };
        let store = Store::connect(&url, options).await?;
        seed_heavy(&store).await?;
        store.close().await?;
    }
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let settings = settings(&[
        ("PERSONABOT__DATABASE__URL", url.clone()),
        ("PERSONABOT__DISCORD__API_BASE", discord.rest_base()),
        ("PERSONABOT__DISCORD__TOKEN", "fake-token".into()),
        ("PERSONABOT__LLM__BASE_URL", openai.base_url()),
        ("PERSONABOT__LLM__API_KEY", "sk-fake".into()),
    ])?;
    let app = App::start(settings).await?;
    app.wait_ready(WAIT).await?;
    discord.wait_for_ready(WAIT).await?;
    let mut to_llm = Vec::with_capacity(APP_SAMPLES);
    let mut to_post = Vec::with_capacity(APP_SAMPLES);
    for i in 0..WARMUP + APP_SAMPLES {
        let marker = format!("[q{i}]");
        let mut feed = discord.subscribe();
        let start = Instant::now();
        let message = discord
            .user_says(
                HEAVY_CHANNEL,
                ALICE,
                &format!("<@{BOT}> {marker} how is it going?"),
            )
            .await;
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        let llm = async {
            let _ = openai
                .wait_for_request(
                    |r| r.is_chat() && r.last_user_text().contains(&marker),
                    WAIT,
                )
                .await;
            Instant::now()
        };
        let post = async {
            loop {
                match tokio::time::timeout(WAIT, feed.recv()).await {
                    Ok(Ok(r))
                        if r.is("POST", "/messages")
                            && r.body.as_ref().is_some_and(|b| {
                                b["message_reference"]["message_id"].as_str() == Some(id.as_str())
                            }) =>
                    {
                        return Instant::now();
                    }
                    Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                    _ => return Instant::now() + WAIT,
                }
            }
        };
        let (asked, posted) = tokio::join!(llm, post);
        if i >= WARMUP {
            to_llm.push(asked.duration_since(start));
            to_post.push(posted.duration_since(start));
        }
    }
    app.shutdown().await?;
    Ok((to_llm, to_post))
}

/// (d) A flood of `FLOOD_RATE` messages/s over `FLOOD_CHANNELS` channels for `FLOOD_SECS`,
/// then quiet: with idle channel actors stopping (`bot.channel_idle_secs`, 2 s here), the
/// live actors and the process's RSS fall back near the idle figure.
async fn flood_then_idle() -> anyhow::Result<()> {
    const FLOOD_RATE: u64 = 10_000;
    const FLOOD_CHANNELS: u64 = 5_000;
    const FLOOD_SECS: u64 = 10;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/flood.sqlite?mode=rwc", dir.path().display());
    let actors = start_actors(
        "bench-flood",
        &url,
        &[("PERSONABOT__BOT__CHANNEL_IDLE_SECS", "2".to_owned())],
    )
    .await?;
    let logged = |database: Store| async move {
        database
            .count_messages_since(None, Utc::now() - Duration::hours(1))
            .await
            .unwrap_or(0)
    };
    let until_idle = || async {
        let deadline = Instant::now() + StdDuration::from_secs(60);
        while actors.router.channel_count().await.unwrap_or(0) > 0 && Instant::now() < deadline {
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        actors.router.channel_count().await.unwrap_or(0)
    };
    // Warm up, then let it go quiet: the idle figure.
    for i in 0..500 {
        actors
            .router
            .deliver(event(
                60_000_000 + i,
                3_000_000 + i,
                6_000,
                "warming up".into(),
                false,
            ))
            .await;
    }
    while logged(actors.database.clone()).await < 500 {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    until_idle().await;
    let idle = trimmed_rss_kb();
    let start = Instant::now();
    let mut sent = 0u64;
    for second in 0..FLOOD_SECS {
        let tick = start + StdDuration::from_secs(second + 1);
        for _ in 0..FLOOD_RATE {
            actors
                .router
                .deliver(event(
                    70_000_000 + sent,
                    4_000_000 + sent % FLOOD_CHANNELS,
                    6_000 + sent % 700,
                    format!("flood message {sent}"),
                    false,
                ))
                .await;
            sent += 1;
        }
        tokio::time::sleep_until(tick.into()).await;
    }
    let flood_took = start.elapsed();
    let live_after_flood = actors.router.channel_count().await.unwrap_or(0);
    let peak = rss_kb();
    let deadline = Instant::now() + StdDuration::from_secs(300);
    while logged(actors.database.clone()).await < 500 + sent && Instant::now() < deadline {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let stored = logged(actors.database.clone()).await - 500;
    let drained = start.elapsed();
    let live_after_idle = until_idle().await;
    let after = trimmed_rss_kb();
    println!(
        "(d) flood: {sent} messages over {FLOOD_CHANNELS} channels in {:.1} s ({:.0}/s offered), {stored} stored after {:.1} s",
        flood_took.as_secs_f64(),
        sent as f64 / flood_took.as_secs_f64(),
        drained.as_secs_f64(),
    );
    println!(
        "    live channel actors: {live_after_flood} right after the flood, {live_after_idle} once idle; RSS idle {:.1} MB, after the flood {:.1} MB, idle again (after malloc_trim) {:.1} MB",
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flood_then_idle().await?;
    idle_actor_memory().await?;
    direct_overhead().await?;
    let (mut llm, mut heavy) = through_the_app(true).await?;
    println!(
        "(a') MESSAGE_CREATE -> fake OpenAI request, whole app, {WINDOW_MESSAGES} msgs in 24 h, {FACTS} facts, {APP_SAMPLES} replies: {}",
        summary(&mut llm)
    );
    let (_, mut light) = through_the_app(false).await?;
    println!(
        "(b) MESSAGE_CREATE -> reply POSTed, whole app, zero-latency fake LLM, fresh channel, {APP_SAMPLES} replies: {} (goal p50 <= 10 ms)",
        summary(&mut light)
    );
    println!(
        "(b) MESSAGE_CREATE -> reply POSTed, whole app, zero-latency fake LLM, {WINDOW_MESSAGES}-message channel, {APP_SAMPLES} replies: {}",
        summary(&mut heavy)
    );
    println!("process RSS at the end: {:.1} MB", rss_kb() as f64 / 1024.0);
    Ok(())
}
