//! Crash safety of the nightly consolidation, with a real process: `personabot consolidate`
//! runs on a SQLite file against a slow fake model and is killed with SIGKILL at several
//! points (before any extraction answered, a few members in, mid-write), restarted, and
//! finally run to completion. After every kill and at the end: each seeded message is in
//! exactly one of the short-term log and the archive, a member's facts and the archiving
//! of their messages happened together or not at all, and no fact was counted twice.
//!
//! SQLite only: it is the embedded default, and the one where a killed process can leave
//! a half-written file behind (PostgreSQL's own crash safety is the server's). The same
//! per-member transaction is exercised on PostgreSQL by the end-to-end tests.

#![cfg(unix)]

use chrono::{DateTime, Duration, Utc};
use entity::{archived_messages, consolidation_runs, short_term_messages};
use fakes::{FakeOpenAi, OpenAiRequest, Reply, Rule};
use personabot::domain::{ChannelId, GuildId, LoggedMessage, MessageId, NewFact, UserId};
use personabot::store::{Store, StoreOptions, facts};
use sea_orm::EntityTrait;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Instant;
use tokio::process::{Child, Command};

const MEMBERS: u64 = 30;
const PER_MEMBER: u64 = 20;
const BOT_MESSAGES: u64 = 10;
const LATE_MESSAGES: u64 = 5;
const FIRST_MEMBER: u64 = 50_000;
const BOT: u64 = 49_999;
const EMBEDDING_MODEL: &str = "text-embedding-3-small";
/// How long the fake model takes per extraction: slow enough to kill a run in the middle,
/// and different per member so answers (and commits) are spread over the run.
fn extraction_delay(member: u64) -> std::time::Duration {
    std::time::Duration::from_millis(40 + 12 * member)
}
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

fn name(member: u64) -> String {
    format!("member{member:02}")
}

fn member_id(member: u64) -> UserId {
    UserId(FIRST_MEMBER + member)
}

fn bike(member: u64) -> String {
    format!("rides a red bike called Bolt{member:02}")
}

fn message(
    id: u64,
    author: UserId,
    name: &str,
    bot: bool,
    text: String,
    at: DateTime<Utc>,
) -> LoggedMessage {
    LoggedMessage {
        id: MessageId(id),
        channel_id: ChannelId(4000),
        guild_id: Some(GuildId(2000)),
        author_id: author,
        author_name: name.to_owned(),
        is_bot: bot,
        content: text,
        reply_to: None,
        created_at: at,
    }
}

/// What was seeded: message ids before the cutoff (per member, and the bot's), and the
/// ones written "after" it (dated tomorrow), which every run must leave alone.
struct Seeded {
    member_messages: BTreeMap<u64, Vec<i64>>,
    bot_messages: Vec<i64>,
    late: Vec<i64>,
    tea: BTreeMap<u64, i64>,
}

async fn seed(store: &Store) -> Seeded {
    let yesterday = Utc::now() - Duration::days(1);
    let mut all = Vec::new();
    let mut member_messages = BTreeMap::new();
    for m in 0..MEMBERS {
        let ids: Vec<i64> = (0..PER_MEMBER)
            .map(|j| {
                let id = 1_000_000 + m * 100 + j;
                let text = format!("{} says: my bike and my tea are great, part {j}", name(m));
                let at = yesterday + Duration::seconds((j * MEMBERS + m) as i64);
                all.push(message(id, member_id(m), &name(m), false, text, at));
                id as i64
            })
            .collect();
        member_messages.insert(m, ids);
    }
    let bot_messages: Vec<i64> = (0..BOT_MESSAGES)
        .map(|j| {
            let id = 2_000_000 + j;
            all.push(message(
                id,
                UserId(BOT),
                "bot",
                true,
                format!("bot answer {j}"),
                yesterday,
            ));
            id as i64
        })
        .collect();
    let tomorrow = Utc::now() + Duration::days(1);
    let late: Vec<i64> = (0..LATE_MESSAGES)
        .map(|j| {
            let id = 3_000_000 + j;
            let text = "this arrives after the cutoff and is worth remembering".to_owned();
            all.push(message(id, member_id(j), &name(j), false, text, tomorrow));
            id as i64
        })
        .collect();
    personabot::store::messages::append_messages(store.writer(), &all)
        .await
        .expect("seed messages");
    let mut tea = BTreeMap::new();
    for m in 0..MEMBERS {
        let new = NewFact {
            guild_id: GuildId(2000),
            user_id: member_id(m),
            fact: "likes green tea".into(),
            category: "preference".into(),
            embedding: Some(fakes::openai::embed(
                "likes green tea",
                fakes::openai::EMBEDDING_DIMS,
            )),
        };
        let fact = facts::insert_fact(
            store.writer(),
            &new,
            Some(EMBEDDING_MODEL),
            yesterday - Duration::days(5),
        )
        .await
        .expect("seed a fact");
        tea.insert(m, fact.id);
    }
    Seeded {
        member_messages,
        bot_messages,
        late,
        tea,
    }
}

fn script(openai: &FakeOpenAi) {
    for m in 0..MEMBERS {
        let needle = format!("Member: \"{}\"\n", name(m));
        let facts = json!({"facts": [
            {"fact": "likes green tea", "category": "preference"},
            {"fact": bike(m), "category": "personal"},
        ]});
        openai.script(
            Rule::when(move |r| is_extraction(r) && r.user_text().starts_with(&needle))
                .reply(Reply::delayed(extraction_delay(m), Reply::json(facts))),
        );
    }
}

fn is_extraction(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("pick out durable facts about")
}

fn consolidate(url: &str, openai: &FakeOpenAi, dir: &std::path::Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_personabot"));
    cmd.arg("consolidate")
        // No settings.yaml or .env from the developer's checkout.
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("PERSONABOT") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("PERSONABOT__LLM__BASE_URL", openai.base_url())
        .env("PERSONABOT__LLM__API_KEY", "sk-fake")
        .env("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS", "10")
        .env("PERSONABOT__DATABASE__URL", url)
        .env("PERSONABOT__TELEMETRY__FILTER", "warn");
    cmd.spawn().expect("start personabot consolidate")
}

/// Waits (polling, with a deadline) until `pred` holds for the fake's request log.
async fn until_requests(openai: &FakeOpenAi, what: &str, pred: impl Fn(&[OpenAiRequest]) -> bool) {
    let start = Instant::now();
    while !pred(&openai.requests()) {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Kills the child with SIGKILL and reaps it.
async fn kill(child: &mut Child) {
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.expect("reap the child");
    assert!(
        !status.success(),
        "the child was killed, not finished: {status:?}"
    );
}

/// The invariants that hold after any crash; returns how many members are done.
async fn check(url: &str, seeded: &Seeded, stage: &str) -> usize {
    let store = Store::connect(url, StoreOptions::default())
        .await
        .expect("open the database");
    let short: Vec<i64> = short_term_messages::Entity::find()
        .all(store.reader())
        .await
        .expect("short-term")
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    let archived: Vec<i64> = archived_messages::Entity::find()
        .all(store.reader())
        .await
        .expect("archive")
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    let mut seen: BTreeMap<i64, (u32, u32)> = BTreeMap::new();
    for id in &short {
        seen.entry(*id).or_default().0 += 1;
    }
    for id in &archived {
        seen.entry(*id).or_default().1 += 1;
    }
    let expected: Vec<i64> = seeded
        .member_messages
        .values()
        .flatten()
        .chain(&seeded.bot_messages)
        .chain(&seeded.late)
        .copied()
        .collect();
    assert_eq!(
        seen.len(),
        expected.len(),
        "{stage}: no message lost or invented"
    );
    for id in &expected {
        let (s, a) = seen.get(id).copied().unwrap_or_default();
        assert_eq!(
            s + a,
            1,
            "{stage}: message {id} is in short-term {s}x and archive {a}x"
        );
    }
    for id in &seeded.late {
        assert_eq!(
            seen[id],
            (1, 0),
            "{stage}: post-cutoff message {id} stays in the short-term log"
        );
    }
    let mut done = 0;
    for (m, ids) in &seeded.member_messages {
        let facts = personabot::store::facts::facts_of_user(
            store.reader(),
            member_id(*m),
            store.embedding_model(),
        )
        .await
        .expect("facts");
        let tea: Vec<_> = facts
            .iter()
            .filter(|f| f.fact == "likes green tea")
            .collect();
        assert_eq!(
            tea.len(),
            1,
            "{stage}: {} has one tea fact: {facts:?}",
            name(*m)
        );
        assert_eq!(
            tea[0].id, seeded.tea[m],
            "{stage}: the seeded fact was bumped, not replaced"
        );
        let bikes: Vec<_> = facts.iter().filter(|f| f.fact == bike(*m)).collect();
        let archived_here = ids.iter().filter(|id| seen[id] == (0, 1)).count();
        match tea[0].reference_count {
            1 => {
                assert!(
                    bikes.is_empty(),
                    "{stage}: {}: a new fact without the bump: {facts:?}",
                    name(*m)
                );
                assert_eq!(
                    archived_here,
                    0,
                    "{stage}: {}: messages archived without their facts",
                    name(*m)
                );
            }
            2 => {
                assert_eq!(bikes.len(), 1, "{stage}: {}: {facts:?}", name(*m));
                assert_eq!(
                    bikes[0].reference_count,
                    1,
                    "{stage}: {}: {facts:?}",
                    name(*m)
                );
                assert_eq!(
                    archived_here,
                    ids.len(),
                    "{stage}: {}: facts without the archive move",
                    name(*m)
                );
                done += 1;
            }
            n => panic!(
                "{stage}: {}: the tea fact was counted {n} times: {facts:?}",
                name(*m)
            ),
        }
        assert_eq!(
            facts.len(),
            1 + bikes.len(),
            "{stage}: {}: {facts:?}",
            name(*m)
        );
    }
    store.close().await.expect("close");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consolidation_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}/crash.sqlite?mode=rwc", dir.path().display());
    let openai = FakeOpenAi::start().await;
    script(&openai);
    let seeded = {
        let store = Store::connect(&url, StoreOptions::default())
            .await
            .expect("create the database");
        let seeded = seed(&store).await;
        store.close().await.expect("close");
        seeded
    };

    // Kill points, counted in requests this child made: its first extraction request
    // (nothing answered yet); its first embedding request (the first member is about to be
    // written); its 6th and 12th embedding requests (earlier members committed, later ones
    // in flight). Capped by the members left, so every kill point is reached.
    let kill_points: [(&str, usize); 4] = [
        ("extraction", 1),
        ("embedding", 1),
        ("embedding", 6),
        ("embedding", 12),
    ];
    let mut progress = Vec::new();
    for (round, (kind, wanted)) in kill_points.into_iter().enumerate() {
        let pick = move |r: &OpenAiRequest| {
            if kind == "extraction" {
                is_extraction(r)
            } else {
                r.is_embeddings()
            }
        };
        let left = MEMBERS as usize - progress.last().copied().unwrap_or(0);
        let n = wanted.min(left);
        let before = openai.requests().iter().filter(|r| pick(r)).count();
        let mut child = consolidate(&url, &openai, dir.path());
        until_requests(&openai, &format!("{n} {kind} requests"), |rs| {
            rs.iter().filter(|r| pick(r)).count() >= before + n
        })
        .await;
        kill(&mut child).await;
        let stage = format!("after kill {round} ({kind} request {n})");
        progress.push(check(&url, &seeded, &stage).await);
    }
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "done members never go back: {progress:?}"
    );
    assert!(
        *progress.last().unwrap_or(&0) < MEMBERS as usize,
        "the kills interrupted the run: {progress:?}"
    );

    let child = consolidate(&url, &openai, dir.path());
    let out = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("the last run finishes")
        .expect("wait for the child");
    assert!(
        out.status.success(),
        "{:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let done = check(&url, &seeded, "after the last run").await;
    assert_eq!(
        done, MEMBERS as usize,
        "every member consolidated; progress {progress:?}"
    );

    // One run, resumed across the restarts, finished once.
    let store = Store::connect(&url, StoreOptions::default())
        .await
        .expect("open");
    let runs = consolidation_runs::Entity::find()
        .all(store.reader())
        .await
        .expect("runs");
    assert_eq!(
        runs.len(),
        1,
        "the restarts resumed the run instead of starting new ones: {runs:?}"
    );
    assert_eq!(runs[0].status, "finished");
    let short = short_term_messages::Entity::find()
        .all(store.reader())
        .await
        .expect("short-term");
    assert_eq!(short.len(), LATE_MESSAGES as usize);
    store.close().await.expect("close");
    let extractions = openai.requests().into_iter().filter(is_extraction).count();
    eprintln!(
        "crash test: {extractions} extraction calls for {MEMBERS} members; done after each kill: {progress:?}"
    );
}
