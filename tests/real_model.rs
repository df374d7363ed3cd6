//! The real-model tier: the real binary, through the fake Discord, against a real small
//! model on a real llama.cpp server (`.ci/real-model/`, started by `.ci/run`, which sets
//! `PERSONABOT_REAL_MODEL_BASE_URL` and `PERSONABOT_REAL_MODEL_NAME`).
//!
//! It asserts what must hold with any decent model, never wording: in two servers,
//! mentions get in-character replies (not the failure line, not empty, no reasoning, no
//! echoed name or time, within the length cap; most without an assistant disclaimer) from
//! prompts the model's own template accepts; a consolidation run over a planted day
//! finishes, its facts parse into the fixed categories, none is the prompt's own example
//! and nothing said in one server becomes a fact in the other; relationship judgements
//! parse and move; the budgets count. How many planted statements are kept and how much
//! small talk is taken for facts is reported, not asserted: that is memory quality, which
//! the memory evaluation measures. Every failure prints the model's raw output and the
//! bot's log tail.
//!
//! Without the variables the tier is not configured: each test says so and passes, unless
//! `PERSONABOT_REAL_MODEL_REQUIRED=1` (CI), where a missing server is a failure.

use fakes::{FakeDiscord, World, ids};
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// One reply on two CPU cores: ~15 s for a 1,500-token prompt; a generous ceiling.
const REPLY_WAIT: Duration = Duration::from_secs(150);
const FAILURE_WORD: &str = "tangled";
const MAX_CHARS: usize = 600;

struct RealModel {
    base_url: String,
    name: String,
    /// The embedding server and model (`None`: facts are matched lexically).
    embeddings: Option<(String, String)>,
}

fn real_model() -> Option<RealModel> {
    let base_url = std::env::var("PERSONABOT_REAL_MODEL_BASE_URL")
        .ok()
        .filter(|v| !v.is_empty());
    let name = std::env::var("PERSONABOT_REAL_MODEL_NAME")
        .ok()
        .filter(|v| !v.is_empty());
    match (base_url, name) {
        (Some(base_url), Some(name)) => {
            let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            let embeddings =
                var("PERSONABOT_REAL_EMBED_BASE_URL").zip(var("PERSONABOT_REAL_EMBED_MODEL"));
            match &embeddings {
                Some((url, model)) => eprintln!("real-model tier: embeddings by {model} at {url}"),
                None => {
                    eprintln!("real-model tier: no embedding server; facts are matched lexically")
                }
            }
            Some(RealModel {
                base_url,
                name,
                embeddings,
            })
        }
        _ => {
            let required = std::env::var("PERSONABOT_REAL_MODEL_REQUIRED").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "the real-model tier is required but PERSONABOT_REAL_MODEL_BASE_URL / _NAME are not set"
            );
            eprintln!(
                "real-model tier not configured (PERSONABOT_REAL_MODEL_BASE_URL unset): skipped"
            );
            None
        }
    }
}

fn mention(text: &str) -> String {
    format!("<@{}> {text}", ids::BOT)
}

/// The bot's posts in `channel`, in order.
fn posts(discord: &FakeDiscord, channel: u64) -> Vec<String> {
    discord
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", &format!("/channels/{channel}/messages")))
        .filter_map(|r| r.content().map(str::to_owned))
        .collect()
}

async fn wait_for_post(
    discord: &FakeDiscord,
    channel: u64,
    before: usize,
) -> (Vec<String>, Duration) {
    let started = Instant::now();
    loop {
        let now = posts(discord, channel);
        if now.len() > before {
            // The rest of a split answer follows within moments.
            tokio::time::sleep(Duration::from_millis(500)).await;
            return (
                posts(discord, channel)[before..].to_vec(),
                started.elapsed(),
            );
        }
        assert!(
            started.elapsed() < REPLY_WAIT,
            "no reply in channel {channel} within {REPLY_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What any decent in-character reply satisfies; the reasons it does not.
fn reply_problems(parts: &[String]) -> Vec<String> {
    let text = parts.join("\n");
    let lower = text.to_lowercase();
    let mut problems = Vec::new();
    if text.trim().is_empty() {
        problems.push("empty".to_owned());
    }
    if lower.contains(FAILURE_WORD) {
        problems.push("the failure line".to_owned());
    }
    if lower.contains("<think") || lower.contains("</think") {
        problems.push("reasoning posted".to_owned());
    }
    let first = text.trim_start();
    if first.starts_with('[') || first.to_lowercase().starts_with("testbot:") {
        problems.push("an echoed name or time prefix".to_owned());
    }
    if text.chars().count() > MAX_CHARS {
        problems.push(format!("{} characters, over the cap", text.chars().count()));
    }
    if parts.len() > 3 {
        problems.push(format!("{} messages", parts.len()));
    }
    problems
}

/// Whether a reply breaks character the way assistants do.
fn breaks_character(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "as an ai",
        "language model",
        "i'm an ai",
        "i am an ai",
        "as a bot",
        "i'm just a bot",
        "assistant",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

struct Bot {
    child: tokio::process::Child,
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn start_bot(discord: &FakeDiscord, model: &RealModel, db_url: &str) -> Bot {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_personabot"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PERSONABOT__DISCORD__API_BASE", discord.rest_base())
        .env("PERSONABOT__DISCORD__TOKEN", "fake-token")
        .env("PERSONABOT__LLM__BASE_URL", &model.base_url)
        .env("PERSONABOT__LLM__API_KEY", "none")
        .env("PERSONABOT__LLM__CHAT_MODEL", &model.name)
        .env("PERSONABOT__LLM__JUDGE_MODEL", &model.name)
        // The embeddings from their own server where the tier has one (llama.cpp serves one
        // model per process), else lexical matching (said at the start).
        .env(
            "PERSONABOT__LLM__EMBEDDING_BASE_URL",
            model
                .embeddings
                .as_ref()
                .map_or("", |(url, _)| url.as_str()),
        )
        .env(
            "PERSONABOT__LLM__EMBEDDING_MODEL",
            model
                .embeddings
                .as_ref()
                .map_or("", |(_, name)| name.as_str()),
        )
        .env("PERSONABOT__LLM__TEMPERATURE", "0")
        .env("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS", "120")
        .env("PERSONABOT__LLM__MAX_RETRIES", "0")
        .env("PERSONABOT__LLM__MAX_REPLY_TOKENS", "150")
        .env("PERSONABOT__BOT__NAME", "testbot")
        .env("PERSONABOT__BOT__MAX_REPLY_CHARS", MAX_CHARS.to_string())
        .env("PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT", "true")
        .env("PERSONABOT__BOT__TRANSCRIPT_TOKEN_BUDGET", "1500")
        .env("PERSONABOT__BOT__PROMPT_TOKEN_BUDGET", "4200")
        .env("PERSONABOT__OVERLOAD__MAX_MENTION_AGE_SECS", "600")
        // Consolidation every 20 s: the test plants a day and waits for one run.
        .env("PERSONABOT__SCHEDULE__CONSOLIDATION_CRON", "*/20 * * * * *")
        .env("PERSONABOT__DATABASE__URL", db_url)
        .env("PERSONABOT__OPS__LISTEN", "127.0.0.1:0")
        .env("PERSONABOT__CONSOLE__LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn,personabot=info")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    Bot {
        child: command.spawn().expect("start the real binary"),
    }
}

/// The whole tier in one sequence: one model server with one slot serves it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_works_with_a_real_model() {
    let Some(model) = real_model() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}/bot.sqlite?mode=rwc", dir.path().display());
    let discord = FakeDiscord::start(World::default()).await;
    let _bot = start_bot(&discord, &model, &db_url);
    discord
        .wait_for_ready(Duration::from_secs(60))
        .await
        .expect("the binary connects to the fake gateway");

    // 1. Replies in two servers, from the member who is in both.
    let questions = [
        (ids::GENERAL, "hey! what's your favourite season, and why?"),
        (
            ids::OTHER_GENERAL,
            "hi there, what did you get up to today?",
        ),
        (ids::GENERAL, "do you like cats or dogs more?"),
        (
            ids::OTHER_GENERAL,
            "thank you so much for the help earlier, you're wonderful!",
        ),
    ];
    let mut report = Vec::new();
    let mut in_character = 0;
    let mut latencies = Vec::new();
    for (channel, question) in questions {
        let before = posts(&discord, channel).len();
        discord
            .user_says(channel, ids::ALICE, &mention(question))
            .await;
        let (parts, took) = wait_for_post(&discord, channel, before).await;
        latencies.push(took);
        let text = parts.join("\n");
        let problems = reply_problems(&parts);
        report.push(format!(
            "[{channel}] {question}\n  -> ({took:.1?}) {text:?}\n  problems: {problems:?}"
        ));
        assert!(
            problems.is_empty(),
            "reply with problems:\n{}",
            report.join("\n")
        );
        if !breaks_character(&text) {
            in_character += 1;
        }
    }
    println!("real-model replies:\n{}", report.join("\n"));
    println!(
        "persona fidelity: {in_character} of {} replies in character; mention -> reply: {:?}",
        questions.len(),
        latencies
    );
    assert!(
        in_character * 2 >= questions.len(),
        "most replies stay in character:\n{}",
        report.join("\n")
    );

    // 2. A day with planted statements in server A, small talk by another member.
    let planted = [
        (
            ids::ALICE,
            "I just moved to Lyon last week, still unpacking boxes",
        ),
        (
            ids::ALICE,
            "my cat is called Miso and she hates the new flat",
        ),
        (ids::BOB, "lol"),
        (ids::BOB, "nice weather today huh"),
    ];
    for (who, text) in planted {
        discord.user_says(ids::RANDOM, who, text).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let db = Database::connect(db_url.as_str())
        .await
        .expect("open the bot's database");
    let started = Instant::now();
    let facts = loop {
        let facts = entity::memory_facts::Entity::find()
            .all(&db)
            .await
            .unwrap_or_default();
        let runs = entity::consolidation_runs::Entity::find()
            .filter(entity::consolidation_runs::Column::FinishedAt.is_not_null())
            .all(&db)
            .await
            .unwrap_or_default();
        let archived = entity::archived_messages::Entity::find()
            .filter(entity::archived_messages::Column::Content.contains("Miso"))
            .all(&db)
            .await
            .unwrap_or_default();
        if !runs.is_empty() && !archived.is_empty() {
            break facts;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no consolidation run finished with the planted day; facts so far: {facts:#?}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    println!(
        "consolidation ({:.1?}): {:#?}",
        started.elapsed(),
        facts
            .iter()
            .map(|f| (f.guild_id, f.user_id, &f.fact, &f.category))
            .collect::<Vec<_>>()
    );
    let alice_a: Vec<&String> = facts
        .iter()
        .filter(|f| f.user_id == ids::ALICE as i64 && f.guild_id == ids::GUILD as i64)
        .map(|f| &f.fact)
        .collect();
    // How many of the two planted statements were kept is memory quality, measured by the
    // memory evaluation (issue 23); here it is reported. What must hold is below.
    let kept = ["Lyon", "Miso"]
        .iter()
        .filter(|word| alice_a.iter().any(|f| f.contains(*word)))
        .count();
    println!("planted statements kept as facts of Alice in server A: {kept} of 2");
    const CATEGORIES: [&str; 6] = [
        "preference",
        "personal",
        "relationship",
        "event",
        "opinion",
        "other",
    ];
    for fact in &facts {
        assert!(!fact.fact.trim().is_empty(), "an empty fact: {fact:?}");
        assert!(
            CATEGORIES.contains(&fact.category.as_str()),
            "a category outside the set: {fact:?}"
        );
        assert!(
            !fact.fact.contains("Rex"),
            "the prompt's own example stored: {fact:?}"
        );
    }
    // Small talk taken for a fact is memory quality too (issue 23 asserts it against its
    // labeled corpus); reported here.
    let from_small_talk = facts
        .iter()
        .filter(|f| f.user_id == ids::BOB as i64)
        .count();
    println!("facts formed from Bob's small talk: {from_small_talk}");
    assert!(
        !facts.iter().any(|f| f.guild_id == ids::OTHER_GUILD as i64
            && (f.fact.contains("Lyon") || f.fact.contains("Miso"))),
        "nothing said in server A is a fact in server B"
    );

    // 3. Judgements ran and parsed; the budgets counted every call.
    let events = entity::relationship_events::Entity::find()
        .all(&db)
        .await
        .unwrap_or_default();
    println!(
        "relationship moves: {:?}",
        events
            .iter()
            .map(|e| (e.guild_id, &e.metric, e.old_value, e.new_value, &e.reason))
            .collect::<Vec<_>>()
    );
    let usage = entity::token_usage::Entity::find()
        .all(&db)
        .await
        .unwrap_or_default();
    assert!(!usage.is_empty(), "token usage is counted");
    println!("token usage rows: {}", usage.len());
    assert!(
        !events.is_empty(),
        "a warm thank-you moved a relationship metric (the judgement parsed)"
    );
}
