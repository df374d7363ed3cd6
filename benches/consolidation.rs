//! Nightly consolidation at scale: 100,000 short-term messages from 1,000 members on a
//! SQLite file, consolidated by the real app (`App::start_with(.., Offline)`, the same path
//! as `personabot consolidate`) against an in-process fake model that answers at once.
//!
//! Run: `cargo bench --bench consolidation` (release). Prints the wall time of the run
//! (goal ≤ 10 s), the number of extraction calls (≤ one per active member) and of
//! embedding calls with their batch sizes. `BENCH_USERS` / `BENCH_PER_USER` scale it.

use chrono::{Duration, Utc};
use fakes::{FakeOpenAi, OpenAiRequest, Reply};
use personabot::app::{App, Connection};
use personabot::config::{Settings, Sources};
use personabot::domain::{ChannelId, GuildId, LoggedMessage, MessageId, UserId};
use personabot::store::{Store, StoreOptions};
use serde_json::json;
use std::time::Instant;

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn is_extraction(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("pick out durable facts about")
}

fn main() {
    let users = env_or("BENCH_USERS", 1_000);
    let per_user = env_or("BENCH_PER_USER", 100);

    // The fake model gets its own runtime (and thread), so the bot's runtime is the bot's.
    let fake_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("fake runtime");
    let openai = fake_rt.block_on(async {
        let openai = FakeOpenAi::start().await;
        openai.set_default(Reply::json(json!({"facts": [
            {"fact": "likes green tea", "category": "preference"},
            {"fact": "plays chess on weekends", "category": "preference"},
        ]})));
        openai
    });

    let rt = tokio::runtime::Runtime::new().expect("bot runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/bench.sqlite?mode=rwc", dir.path().display());

        let seeding = Instant::now();
        let store = Store::connect(&url, StoreOptions::default())
            .await
            .expect("create the database");
        let yesterday = Utc::now() - Duration::days(1);
        let total = users * per_user;
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..total {
            let user = i % users;
            batch.push(LoggedMessage {
                id: MessageId(1_000_000 + i),
                channel_id: ChannelId(4000 + user % 10),
                guild_id: Some(GuildId(2000)),
                author_id: UserId(100_000 + user),
                author_name: format!("member{user}"),
                is_bot: false,
                content: format!(
                    "message {i}: I drank some green tea and played chess with my friends today"
                ),
                reply_to: None,
                created_at: yesterday + Duration::milliseconds(i as i64),
            });
            if batch.len() == batch.capacity() {
                store.append_messages(&batch).await.expect("seed");
                batch.clear();
            }
        }
        store.append_messages(&batch).await.expect("seed");
        store.close().await.expect("close the seeding connection");
        println!(
            "seeded {total} messages from {users} members in {:.2} s",
            seeding.elapsed().as_secs_f64()
        );

        let env: Vec<(String, String)> = vec![
            ("PERSONABOT__LLM__BASE_URL".into(), openai.base_url()),
            ("PERSONABOT__LLM__API_KEY".into(), "sk-fake".into()),
            ("PERSONABOT__DATABASE__URL".into(), url.clone()),
        ];
        let settings = Settings::load(Sources { file: None, env }).expect("settings");
        let app = App::start_with(settings, Connection::Offline)
            .await
            .expect("start the app");

        let started = Instant::now();
        let report = app
            .consolidator
            .run_now(std::time::Duration::from_secs(600))
            .await
            .expect("consolidator answers")
            .expect("consolidation succeeds");
        let wall = started.elapsed();

        let requests = openai.requests();
        let extractions = requests.iter().filter(|r| is_extraction(r)).count();
        let embeddings: Vec<usize> = requests
            .iter()
            .filter(|r| r.is_embeddings())
            .map(|r| r.inputs().len())
            .collect();
        let other_chats = requests
            .iter()
            .filter(|r| r.is_chat() && !is_extraction(r))
            .count();
        let archived = report.messages_archived;
        app.shutdown().await.expect("shutdown");

        println!(
            "consolidation: {total} messages, {users} members: {:.2} s wall (goal <= 10 s), {:.0} messages/s",
            wall.as_secs_f64(),
            total as f64 / wall.as_secs_f64()
        );
        println!(
            "  extraction calls: {extractions} (active members: {users}; report.llm_calls {})",
            report.llm_calls
        );
        println!(
            "  embedding calls: {} carrying {} texts (max {} per call)",
            embeddings.len(),
            embeddings.iter().sum::<usize>(),
            embeddings.iter().max().copied().unwrap_or(0)
        );
        println!("  other model calls (merge judgements, status): {other_chats}");
        println!(
            "  report: {} members done, {} skipped, {} facts added, {} bumped, {} archived",
            report.users_done,
            report.users_skipped,
            report.facts_added,
            report.facts_bumped,
            archived
        );
        assert_eq!(archived, total, "every message archived");
        assert!(extractions as u64 <= users, "at most one extraction per member");
    });
    drop(fake_rt);
}
