//! Store benchmark: prints figures, asserts nothing (`cargo bench --bench store`).
//!
//! (a) message-log append throughput, 20,000 messages in batches of 500 (goal ≥ 5,000 msg/s);
//! (b) reading a channel's last 24 h holding 5,000 messages, among noise in other channels and
//!     older messages: 1,000 reads, p50/p99/max (goal p99 ≤ 5 ms);
//! (c) PostgreSQL only: two bot processes logging at once (two stores, each with its own
//!     pool as a process has), 20,000 messages each in batches of 500: combined msg/s
//!     against one store alone (`docs/scaling.md`).
//!
//! SQLite on a temporary file always; PostgreSQL too with `PERSONABOT_BENCH_PG=1` (server from
//! `PERSONABOT_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`; a scratch
//! database is created and dropped).

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use personabot::domain::{ChannelId, GuildId, LoggedMessage, MessageId, UserId};
use personabot::store::{Store, StoreOptions};
use sea_orm::{ConnectionTrait, Database};

const APPEND_TOTAL: u64 = 20_000;
const BATCH: usize = 500;
const CHANNEL_IN_WINDOW: u64 = 5_000;
const CHANNEL_OLDER: u64 = 10_000;
const NOISE: u64 = 30_000;
const READS: usize = 1_000;
/// The transcript cap of a reply (`bot.transcript_max_messages` in settings.yaml): the bot
/// never reads all 5,000 for one reply.
const TRANSCRIPT_LIMIT: u64 = 400;

fn msg(id: u64, channel: u64, at: DateTime<Utc>) -> LoggedMessage {
    LoggedMessage {
        id: MessageId(id),
        channel_id: ChannelId(channel),
        guild_id: Some(GuildId(1)),
        author_id: UserId(1_000 + id % 37),
        author_name: format!("member{}", id % 37),
        is_bot: id.is_multiple_of(11),
        content: format!(
            "message number {id}: a line of ordinary chat, about this long, give or take."
        ),
        reply_to: id.is_multiple_of(5).then(|| MessageId(id - 1)),
        created_at: at,
    }
}

fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

async fn append_throughput(store: &Store, label: &str) -> anyhow::Result<()> {
    let start_at = Utc::now() - Duration::days(30);
    let msgs: Vec<_> = (1..=APPEND_TOTAL)
        .map(|i| {
            msg(
                i,
                1 + i % 20,
                start_at + Duration::milliseconds(i as i64 * 50),
            )
        })
        .collect();
    let t = Instant::now();
    for chunk in msgs.chunks(BATCH) {
        store.append_messages(chunk).await?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "[{label}] (a) append {APPEND_TOTAL} messages in batches of {BATCH}: {:.0} msg/s ({:.2} s total, {:.1} ms/batch)",
        APPEND_TOTAL as f64 / secs,
        secs,
        secs * 1e3 / (APPEND_TOTAL as f64 / BATCH as f64)
    );
    Ok(())
}

async fn read_latency(store: &Store, label: &str) -> anyhow::Result<()> {
    let now = Utc::now();
    let channel = 9_999;
    let mut id = 1_000_000;
    let mut all = Vec::new();
    // Older messages in the same channel (outside the window).
    for i in 0..CHANNEL_OLDER {
        id += 1;
        all.push(msg(
            id,
            channel,
            now - Duration::days(2) - Duration::seconds(i as i64 * 10),
        ));
    }
    // Noise in other channels, inside the window.
    for i in 0..NOISE {
        id += 1;
        all.push(msg(
            id,
            100 + i % 50,
            now - Duration::seconds((i % 80_000) as i64),
        ));
    }
    // The channel's last 24 h.
    for i in 0..CHANNEL_IN_WINDOW {
        id += 1;
        all.push(msg(
            id,
            channel,
            now - Duration::hours(23) + Duration::seconds(i as i64 * 16),
        ));
    }
    for chunk in all.chunks(BATCH) {
        store.append_messages(chunk).await?;
    }
    let since = now - Duration::hours(24);

    for (what, limit, reads) in [
        (
            "transcript (newest 400, the bot's read)",
            TRANSCRIPT_LIMIT,
            READS,
        ),
        ("whole window (5,000 rows)", CHANNEL_IN_WINDOW + 10, READS),
    ] {
        let got = store
            .recent_messages(ChannelId(channel), since, limit)
            .await?;
        assert_eq!(
            got.len() as u64,
            limit.min(CHANNEL_IN_WINDOW),
            "window holds what was written"
        );
        let mut times = Vec::with_capacity(reads);
        for _ in 0..reads {
            let t = Instant::now();
            let rows = store
                .recent_messages(ChannelId(channel), since, limit)
                .await?;
            times.push(t.elapsed());
            std::hint::black_box(rows);
        }
        times.sort();
        println!(
            "[{label}] (b) last 24 h of a channel, {what}, {reads} reads: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            times.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        );
    }
    Ok(())
}

/// Appends `APPEND_TOTAL` messages with ids from `first` in batches; returns the seconds.
async fn append_from(store: &Store, first: u64) -> anyhow::Result<f64> {
    let start_at = Utc::now() - Duration::days(20);
    let msgs: Vec<_> = (first..first + APPEND_TOTAL)
        .map(|i| msg(i, 100 + i % 20, start_at + Duration::milliseconds(i as i64)))
        .collect();
    let t = Instant::now();
    for chunk in msgs.chunks(BATCH) {
        store.append_messages(chunk).await?;
    }
    Ok(t.elapsed().as_secs_f64())
}

async fn two_writers(url: &str, label: &str) -> anyhow::Result<()> {
    let one = Store::connect(url, StoreOptions::default()).await?;
    let other = Store::connect(url, StoreOptions::default()).await?;
    let alone = append_from(&one, 1_000_000).await?;
    let t = Instant::now();
    let (a, b) = tokio::join!(append_from(&one, 2_000_000), append_from(&other, 3_000_000));
    let (a, b) = (a?, b?);
    let both = t.elapsed().as_secs_f64();
    println!(
        "[{label}] (c) one process alone: {:.0} msg/s; two processes at once: {:.0} msg/s together ({:.0} + {:.0})",
        APPEND_TOTAL as f64 / alone,
        2.0 * APPEND_TOTAL as f64 / both,
        APPEND_TOTAL as f64 / a,
        APPEND_TOTAL as f64 / b
    );
    one.close().await?;
    other.close().await?;
    Ok(())
}

async fn run(url: &str, label: &str) -> anyhow::Result<()> {
    let store = Store::connect(url, StoreOptions::default()).await?;
    append_throughput(&store, label).await?;
    read_latency(&store, label).await?;
    store.close().await?;
    if label == "postgres" {
        two_writers(url, label).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/bench.sqlite?mode=rwc", dir.path().display());
    run(&url, "sqlite").await?;

    if std::env::var("PERSONABOT_BENCH_PG").is_ok_and(|v| v == "1") {
        let admin_url = std::env::var("PERSONABOT_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let admin = Database::connect(admin_url.as_str()).await?;
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        let result = run(&format!("{base}/{name}"), "postgres").await;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        result?;
    }
    Ok(())
}
