//! Whole-process benchmark: the real `personabot` binary, started as an operator starts it,
//! against the fake Discord and a zero-latency fake OpenAI server, measured from outside
//! through `/proc` (`cargo bench --bench process`). Prints figures, asserts nothing.
//!
//! Why from outside: the in-process benches share a heap and a runtime with the fakes, so
//! they cannot show what hosting the bot costs. Here every figure is the bot process alone:
//! RSS split into anonymous (heap, stacks) and file-backed (the binary's pages), CPU time
//! from `/proc/<pid>/stat`, and messages counted as committed rows in its SQLite file.
//!
//! Phases: start-up to commands registered; idle RSS; the first mention and 30 more
//! (latency before load); a burst of 5,000 messages (CPU per message, messages/s until all
//! are committed); 60 mentions (latency after, RSS); a steady 200 messages/s for 10 s (CPU
//! per message); a sustained flood (end-to-end rows/s, nothing lost); 10,000 channels with
//! one message each, then idle (RSS back near idle once their actors stop).

use chrono::{Duration, Utc};
use fakes::{FakeDiscord, FakeOpenAi, RecordedRequest, World, ids, world::Channel};
use personabot::store::{Store, StoreOptions};
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};
use tokio::sync::broadcast;

const WAIT: StdDuration = StdDuration::from_secs(30);
const BURST: u64 = 5_000;
const MENTIONS_BEFORE: usize = 30;
const MENTIONS_AFTER: usize = 60;
const STEADY_RATE: u64 = 200;
const STEADY_SECS: u64 = 10;
const FLOOD: u64 = 50_000;
const WIDE_CHANNELS: u64 = 10_000;
const WIDE_FIRST_CHANNEL: u64 = 7_000_000;
/// Ticks per second of `/proc/<pid>/stat` CPU times (`getconf CLK_TCK`; 100 on Linux).
const CLK_TCK: f64 = 100.0;

/// One reading of the bot process from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
struct Reading {
    rss_kb: u64,
    anon_kb: u64,
    file_kb: u64,
    cpu_ms: f64,
}

impl Reading {
    fn of(pid: u32) -> Reading {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are the
        // 14th and 15th fields of the line, the 12th and 13th after ") ".
        let ticks: u64 = stat
            .rsplit_once(") ")
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .skip(11)
                    .take(2)
                    .filter_map(|v| v.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        Reading {
            rss_kb: field("VmRSS:"),
            anon_kb: field("RssAnon:"),
            file_kb: field("RssFile:"),
            cpu_ms: ticks as f64 * 1000.0 / CLK_TCK,
        }
    }

    fn show(&self) -> String {
        format!(
            "{:.1} MiB (anonymous {:.1}, file {:.1})",
            self.rss_kb as f64 / 1024.0,
            self.anon_kb as f64 / 1024.0,
            self.file_kb as f64 / 1024.0
        )
    }
}

/// Resident kB per mapped file (and `[heap]`, `[anon]` for the rest), largest first: where
/// the idle RSS lives.
fn mappings(pid: u32) -> Vec<(String, u64)> {
    let mappings = personabot::telemetry::memory::mappings_of(&pid.to_string()).unwrap_or_default();
    let mut by_name: std::collections::BTreeMap<String, u64> = Default::default();
    for mapping in mappings {
        let name = match mapping.path.rsplit('/').next() {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => "[anon]".to_owned(),
        };
        *by_name.entry(name).or_default() += mapping.rss_kb;
    }
    let mut list: Vec<_> = by_name.into_iter().filter(|(_, kb)| *kb > 0).collect();
    list.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    list
}

fn print_mappings(pid: u32) {
    let top: Vec<String> = mappings(pid)
        .into_iter()
        .take(6)
        .map(|(name, kb)| format!("{name} {:.1}", kb as f64 / 1024.0))
        .collect();
    println!("    resident by mapping (MiB): {}", top.join(", "));
}

fn percentiles(times: &mut [StdDuration]) -> String {
    times.sort();
    let at = |p: f64| {
        let i = ((times.len() as f64 - 1.0) * p).round() as usize;
        times.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    format!("p50 {:.2} ms, p95 {:.2} ms", at(0.5), at(0.95))
}

/// `PERSONABOT_BENCH_HEAPTRACK=<file>` with `PERSONABOT_BENCH_HEAP_AT=burst|wide`:
/// heaptrack attaches after start-up, and the bot is killed right after that phase's
/// reading, so heaptrack's "leaked" list is what the phase left live on the heap, by
/// allocation site (`heaptrack_print -f <file>.zst -l`).
struct HeapProfile {
    heaptrack: Child,
    at: String,
}

impl HeapProfile {
    async fn attach(pid: u32) -> Option<HeapProfile> {
        let out = std::env::var("PERSONABOT_BENCH_HEAPTRACK").ok()?;
        let heaptrack = Command::new("heaptrack")
            .args(["-o", &out, "-p", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // Attaching goes through gdb: give it time to hook the allocator.
        tokio::time::sleep(StdDuration::from_secs(5)).await;
        let at = std::env::var("PERSONABOT_BENCH_HEAP_AT").unwrap_or_else(|_| "burst".into());
        Some(HeapProfile { heaptrack, at })
    }

    /// Ends the run after `phase` when that is where the profile was asked for.
    fn stop_after(profile: &mut Option<HeapProfile>, phase: &str, bot: &mut Bot) {
        let Some(p) = profile.as_mut().filter(|p| p.at == phase) else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-KILL", &bot.pid().to_string()])
            .status();
        let _ = bot.child.wait();
        let _ = p.heaptrack.wait();
        println!("heap profile written; stopping after the {phase} phase");
        std::process::exit(0);
    }
}

struct Bot {
    child: Child,
    discord: FakeDiscord,
    store: Store,
    next_marker: u64,
}

impl Bot {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn reading(&self) -> Reading {
        Reading::of(self.pid())
    }

    async fn logged(&self) -> u64 {
        self.store
            .count_messages_since(None, Utc::now() - Duration::hours(1))
            .await
            .unwrap_or(0)
    }

    /// Waits until `n` messages are committed; returns when they were.
    async fn until_logged(&self, n: u64) -> Instant {
        let deadline = Instant::now() + StdDuration::from_secs(600);
        while self.logged().await < n && Instant::now() < deadline {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        Instant::now()
    }

    /// One mention in `channel`; the time until the reply to it is POSTed.
    async fn mention(&mut self, channel: u64) -> StdDuration {
        self.next_marker += 1;
        let marker = format!("[q{}]", self.next_marker);
        let mut feed = self.discord.subscribe();
        let start = Instant::now();
        let message = self
            .discord
            .user_says(
                channel,
                ids::ALICE,
                &format!("<@{}> {marker} how is it going?", ids::BOT),
            )
            .await;
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        reply_posted(&mut feed, &id).await.duration_since(start)
    }

    async fn mentions(&mut self, n: usize) -> Vec<StdDuration> {
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let channel = if i % 2 == 0 {
                ids::GENERAL
            } else {
                ids::OTHER_GENERAL
            };
            times.push(self.mention(channel).await);
        }
        times
    }
}

async fn reply_posted(feed: &mut broadcast::Receiver<RecordedRequest>, id: &str) -> Instant {
    loop {
        match tokio::time::timeout(WAIT, feed.recv()).await {
            Ok(Ok(r))
                if r.is("POST", "/messages")
                    && r.body.as_ref().is_some_and(|b| {
                        b["message_reference"]["message_id"].as_str() == Some(id)
                    }) =>
            {
                return Instant::now();
            }
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            _ => return Instant::now() + WAIT,
        }
    }
}

/// MESSAGE_CREATE payloads built ahead (and stored in the fake's history), so the timed
/// part only sends frames: the fake's payload building would otherwise be the bottleneck.
fn prepared(discord: &FakeDiscord, n: u64, text: &str) -> Vec<serde_json::Value> {
    discord.with_world(|world| {
        (0..n)
            .map(|i| {
                let (channel, author) = chatter(i);
                let id = world.next_id();
                let message =
                    fakes::payloads::message(world, id, channel, author, &format!("{text} {i}"));
                world.store_message(channel, message.clone());
                message
            })
            .collect()
    })
}

async fn send_all(discord: &FakeDiscord, messages: Vec<serde_json::Value>) {
    for message in messages {
        discord.dispatch("MESSAGE_CREATE", message).await;
    }
}

/// Chatter from the members of both servers over the three shared channels.
fn chatter(i: u64) -> (u64, u64) {
    const CHANNELS: [u64; 3] = [ids::GENERAL, ids::RANDOM, ids::OTHER_GENERAL];
    let channel = CHANNELS[(i % 3) as usize];
    let other = if channel == ids::OTHER_GENERAL {
        ids::DAVE
    } else {
        ids::BOB
    };
    let author = if (i / 3).is_multiple_of(2) {
        ids::ALICE
    } else {
        other
    };
    (channel, author)
}

async fn start_bot(dir: &std::path::Path) -> anyhow::Result<(Bot, StdDuration)> {
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let path = dir.join("bot.sqlite");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_personabot"));
    command.env_clear();
    // Allocator experiments pass through: LD_PRELOAD of another malloc, its tuning, glibc's.
    for (key, value) in std::env::vars() {
        if ["LD_PRELOAD", "MALLOC_CONF", "GLIBC_TUNABLES"].contains(&key.as_str())
            || key.starts_with("MIMALLOC_")
        {
            command.env(key, value);
        }
    }
    let child = command
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PERSONABOT__DISCORD__API_BASE", discord.rest_base())
        .env("PERSONABOT__DISCORD__TOKEN", "fake-token")
        .env("PERSONABOT__LLM__BASE_URL", openai.base_url())
        .env("PERSONABOT__LLM__API_KEY", "sk-fake")
        .env("PERSONABOT__LLM__MAX_RETRIES", "0")
        .env("PERSONABOT__DATABASE__URL", &url)
        .env("PERSONABOT__BOT__NAME", "testbot")
        .env("PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT", "false")
        .env("PERSONABOT__BOT__USER_REPLIES_PER_MINUTE", "1000000")
        .env("PERSONABOT__BOT__CHANNEL_REPLIES_PER_MINUTE", "1000000")
        .env("PERSONABOT__BOT__CHANNEL_IDLE_SECS", "3")
        .env("PERSONABOT__OVERLOAD__MAX_PENDING_REPLIES", "1000000")
        .env("PERSONABOT__BUDGET__GLOBAL_DAILY_TOKENS", "0")
        .env("PERSONABOT__BUDGET__SERVER_DAILY_TOKENS", "0")
        .env("PERSONABOT__BUDGET__MEMBER_DAILY_TOKENS", "0")
        .env("RUST_LOG", "warn")
        // The web console runs beside the bot as in production, on a free port.
        .env("PERSONABOT__CONSOLE__LISTEN", "127.0.0.1:0")
        // Any `PERSONABOT__*` of the bench's own environment wins (e.g. the console off).
        .envs(std::env::vars().filter(|(key, _)| key.starts_with("PERSONABOT__")))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()?;
    discord
        .wait_for_request(|r| r.path.ends_with("/commands"), WAIT)
        .await?;
    let startup = started.elapsed();
    // Drop the fake's own idle connections' noise: count only from here on.
    let store = Store::connect(
        &url,
        StoreOptions {
            max_read_connections: 1,
            busy_timeout: StdDuration::from_secs(5),
        },
    )
    .await?;
    Ok((
        Bot {
            child,
            discord,
            store,
            next_marker: 0,
        },
        startup,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_personabot"))?.len();
    println!("binary: {:.1} MiB", binary as f64 / 1024.0 / 1024.0);
    let (mut bot, startup) = start_bot(dir.path()).await?;
    println!(
        "start-up to commands registered, fresh SQLite file: {:.0} ms (goal < 200 ms)",
        startup.as_secs_f64() * 1000.0
    );
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let idle = bot.reading();
    println!("idle RSS after start-up: {} (goal <= 15 MiB)", idle.show());
    print_mappings(bot.pid());
    tokio::time::sleep(StdDuration::from_secs(10)).await;
    println!(
        "idle CPU: {:.2} ms per second",
        (bot.reading().cpu_ms - idle.cpu_ms) / 10.0
    );
    let mut heap = HeapProfile::attach(bot.pid()).await;

    let first = bot.mention(ids::GENERAL).await;
    let mut before = bot.mentions(MENTIONS_BEFORE).await;
    println!(
        "first mention -> reply POSTed: {:.2} ms; next {MENTIONS_BEFORE}: {} (goal p50 <= 10 ms)",
        first.as_secs_f64() * 1000.0,
        percentiles(&mut before)
    );

    // `PERSONABOT_BENCH_PERF=<file>`: a CPU profile of the bot over the burst and steady
    // phases (`perf report -i <file>`).
    let perf = std::env::var("PERSONABOT_BENCH_PERF").ok().and_then(|out| {
        Command::new("perf")
            .args(["record", "-F", "1999", "-g", "-o", &out, "-p"])
            .arg(bot.pid().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
    });

    // A burst: everything dispatched at once, timed until the last row is committed.
    let base = bot.logged().await;
    let cpu = bot.reading().cpu_ms;
    let start = Instant::now();
    for i in 0..BURST {
        let (channel, author) = chatter(i);
        bot.discord
            .user_says(
                channel,
                author,
                &format!("burst message number {i}, hello all"),
            )
            .await;
    }
    let offered = start.elapsed();
    let done = bot.until_logged(base + BURST).await;
    let burst_cpu = bot.reading().cpu_ms - cpu;
    println!(
        "burst of {BURST}: dispatched in {:.0} ms, all committed after {:.0} ms ({:.0} msg/s); CPU {:.3} ms per message (goal <= 0.09)",
        offered.as_secs_f64() * 1000.0,
        done.duration_since(start).as_secs_f64() * 1000.0,
        BURST as f64 / done.duration_since(start).as_secs_f64(),
        burst_cpu / BURST as f64
    );
    let mut after = bot.mentions(MENTIONS_AFTER).await;
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    println!(
        "after the burst and {MENTIONS_AFTER} mentions: RSS {} (goal <= 25 MiB); mention -> reply {}",
        bot.reading().show(),
        percentiles(&mut after)
    );
    print_mappings(bot.pid());
    HeapProfile::stop_after(&mut heap, "burst", &mut bot);

    // Steady traffic: batching must not fall to one row per transaction.
    let base = bot.logged().await;
    let cpu = bot.reading().cpu_ms;
    let start = Instant::now();
    let mut sent = 0;
    for tick in 0..STEADY_SECS * 20 {
        for _ in 0..STEADY_RATE / 20 {
            let (channel, author) = chatter(sent);
            bot.discord
                .user_says(channel, author, &format!("steady message {sent}"))
                .await;
            sent += 1;
        }
        tokio::time::sleep_until((start + StdDuration::from_millis(50 * (tick + 1))).into()).await;
    }
    bot.until_logged(base + sent).await;
    let steady_cpu = bot.reading().cpu_ms - cpu;
    println!(
        "steady {STEADY_RATE} msg/s for {STEADY_SECS} s: CPU {:.3} ms per message (goal <= 0.2)",
        steady_cpu / sent as f64
    );

    if let Some(mut perf) = perf {
        let _ = Command::new("kill")
            .args(["-INT", &perf.id().to_string()])
            .status();
        let _ = perf.wait();
    }

    // Sustained flood: gateway frame in -> row committed, nothing lost.
    let flood = prepared(&bot.discord, FLOOD, "flood");
    let base = bot.logged().await;
    let cpu = bot.reading().cpu_ms;
    let start = Instant::now();
    send_all(&bot.discord, flood).await;
    let offered = start.elapsed();
    let done = bot.until_logged(base + FLOOD).await;
    let stored = bot.logged().await - base;
    let flood_cpu = bot.reading().cpu_ms - cpu;
    println!(
        "flood of {FLOOD}: offered at {:.0} msg/s, {stored} committed at {:.0} msg/s end to end (goal >= 20,000), CPU {:.3} ms per message; peak-after RSS {}",
        FLOOD as f64 / offered.as_secs_f64(),
        stored as f64 / done.duration_since(start).as_secs_f64(),
        flood_cpu / FLOOD as f64,
        bot.reading().show()
    );

    // Wide: 10,000 new channels, one message each, then quiet until their actors stop.
    for i in 0..WIDE_CHANNELS {
        let channel = Channel::text(WIDE_FIRST_CHANNEL + i, format!("wide-{i}"));
        let payload = bot.discord.with_world(|world| {
            world.channels.push(channel.clone());
            fakes::payloads::channel(world, &channel)
        });
        bot.discord.dispatch("CHANNEL_CREATE", payload).await;
    }
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let base = bot.logged().await;
    let quiet = bot.reading();
    for i in 0..WIDE_CHANNELS {
        bot.discord
            .user_says(WIDE_FIRST_CHANNEL + i, ids::ALICE, "one line here")
            .await;
    }
    bot.until_logged(base + WIDE_CHANNELS).await;
    let wide = bot.reading();
    tokio::time::sleep(StdDuration::from_secs(10)).await;
    let settled = bot.reading();
    println!(
        "{WIDE_CHANNELS} channels, one message each: RSS before {}, right after {}, once idle {}",
        quiet.show(),
        wide.show(),
        settled.show()
    );
    print_mappings(bot.pid());
    HeapProfile::stop_after(&mut heap, "wide", &mut bot);
    let mut last = bot.mentions(30).await;
    println!("mention -> reply at the end: {}", percentiles(&mut last));

    // SIGTERM: the bot shuts down cleanly.
    let pid = bot.pid().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = bot.child.wait()?;
    println!("exit after SIGTERM: {status}");
    Ok(())
}
