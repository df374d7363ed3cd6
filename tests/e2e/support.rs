//! `spawn_bot`: the real app (as `main` builds it) wired by settings alone to a fresh fake
//! Discord, a fresh fake OpenAI server and a fresh database.

use crate::common::db::{Backend, TestDb};
use fakes::{DiscordOptions, FakeDiscord, FakeOpenAi, World};
use personabot::app::App;
use personabot::config::{Settings, Sources};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct TestBot {
    pub app: App,
    pub discord: FakeDiscord,
    pub openai: FakeOpenAi,
    pub db: TestDb,
}

/// Settings as an operator would give them: environment variables only.
pub fn settings(
    discord: &FakeDiscord,
    openai: &FakeOpenAi,
    db_url: &str,
    extra: &[(&str, &str)],
) -> Settings {
    let mut env: Vec<(String, String)> = vec![
        ("PERSONABOT__DISCORD__API_BASE".into(), discord.rest_base()),
        ("PERSONABOT__DISCORD__TOKEN".into(), "fake-token".into()),
        ("PERSONABOT__LLM__BASE_URL".into(), openai.base_url()),
        ("PERSONABOT__LLM__API_KEY".into(), "sk-fake".into()),
        ("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS".into(), "3".into()),
        ("PERSONABOT__LLM__MAX_RETRIES".into(), "1".into()),
        ("PERSONABOT__DATABASE__URL".into(), db_url.into()),
        ("PERSONABOT__BOT__NAME".into(), "testbot".into()),
        // Every test bot serves /metrics, /healthz and /readyz, each on a port of its own.
        ("PERSONABOT__OPS__LISTEN".into(), "127.0.0.1:0".into()),
        // Most tests look at one exchange; judgements are tested on their own.
        (
            "PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT".into(),
            "false".into(),
        ),
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).into(), (*v).into()));
    }
    Settings::load(Sources { file: None, env }).expect("test settings are valid")
}

pub async fn spawn_bot(backend: Backend) -> TestBot {
    spawn_bot_with(backend, &[]).await
}

pub async fn spawn_bot_with(backend: Backend, extra: &[(&str, &str)]) -> TestBot {
    spawn_bot_on(backend, DiscordOptions::default(), extra).await
}

/// Like [`spawn_bot_with`], with the fake Discord's options (say, a short heartbeat).
pub async fn spawn_bot_on(
    backend: Backend,
    options: DiscordOptions,
    extra: &[(&str, &str)],
) -> TestBot {
    let _ = tracing_subscriber_init();
    let discord = FakeDiscord::start_with(World::default(), options).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(backend).await;
    let app = App::start(settings(&discord, &openai, &db.url, extra))
        .await
        .expect("bot starts");
    app.wait_ready(WAIT).await.expect("gateway READY");
    discord
        .wait_for_ready(WAIT)
        .await
        .expect("fake saw IDENTIFY");
    TestBot {
        app,
        discord,
        openai,
        db,
    }
}

/// Like [`spawn_bot_with`], but the bot talks to `https://discord.com` with serenity's own
/// REST ratelimiter on: `discord.com` resolves to the fake's TLS listener, whose test CA the
/// bot trusts (`discord.connect_to`, `discord.extra_root_ca`).
pub async fn spawn_bot_through_tls(backend: Backend, extra: &[(&str, &str)]) -> TestBot {
    let _ = tracing_subscriber_init();
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(backend).await;
    let ca = std::env::temp_dir().join(format!("personabot-test-ca-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&ca, fakes::tls::TEST_CA_PEM).expect("write the test CA");
    let connect_to = discord.tls_addr().to_string();
    let ca_path = ca.display().to_string();
    let mut all: Vec<(&str, &str)> = vec![
        ("PERSONABOT__DISCORD__API_BASE", "https://discord.com"),
        ("PERSONABOT__DISCORD__CONNECT_TO", connect_to.as_str()),
        ("PERSONABOT__DISCORD__EXTRA_ROOT_CA", ca_path.as_str()),
    ];
    all.extend_from_slice(extra);
    let app = App::start(settings(&discord, &openai, &db.url, &all))
        .await
        .expect("bot starts");
    app.wait_ready(WAIT).await.expect("gateway READY over TLS");
    let _ = std::fs::remove_file(&ca);
    TestBot {
        app,
        discord,
        openai,
        db,
    }
}

fn tracing_subscriber_init() -> Option<()> {
    personabot::telemetry::init(&personabot::config::TelemetrySettings {
        filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        json: false,
    });
    Some(())
}

/// Runs one async test body (a fn taking `Backend`) on SQLite and on PostgreSQL, as the
/// tests `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! e2e_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::db::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::db::Backend::Postgres).await;
            }
        }
    };
}

/// Polls `check` until it returns `Some`, failing the test after `WAIT`.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(WAIT, what, check).await
}

/// [`eventually`] with another deadline (real processes are slower to come up).
pub async fn eventually_within<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let poll = async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    match tokio::time::timeout(limit, poll).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Requests to `POST /channels/{channel}/messages` so far.
pub fn posts_to(discord: &FakeDiscord, channel: u64) -> Vec<fakes::RecordedRequest> {
    let path = format!("/channels/{channel}/messages");
    discord
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", &path))
        .collect()
}

/// A member's facts as stored (`with_superseded`: the superseded ones too), newest first.
pub async fn facts_of(
    db: &personabot::store::Store,
    member: personabot::domain::ServerMember,
    with_superseded: bool,
) -> Vec<personabot::domain::MemoryFact> {
    personabot::store::facts::facts_of_member(
        db.reader(),
        member,
        with_superseded,
        db.embedding_model(),
    )
    .await
    .expect("read the member's facts")
}

/// Waits until at least `n` messages were posted to `channel`; returns them all.
pub async fn wait_for_posts(
    discord: &FakeDiscord,
    channel: u64,
    n: usize,
) -> Vec<fakes::RecordedRequest> {
    eventually(&format!("{n} messages posted to {channel}"), || async {
        let posts = posts_to(discord, channel);
        (posts.len() >= n).then_some(posts)
    })
    .await
}

/// The channel's short-term log now (after flushing buffered appends).
pub async fn logged(bot: &TestBot, channel: u64) -> Vec<personabot::domain::LoggedMessage> {
    bot.app.store.flush().await.expect("flush");
    personabot::store::messages::recent_messages(
        bot.app.database.reader(),
        personabot::domain::ChannelId(channel),
        chrono::Utc::now() - chrono::Duration::days(30),
        10_000,
    )
    .await
    .expect("read the log")
}

/// A member of the fake world's first server, as the store keys member data.
pub fn member(user: u64) -> personabot::domain::ServerMember {
    personabot::domain::ServerMember::new(
        personabot::domain::GuildId(fakes::world::ids::GUILD),
        personabot::domain::UserId(user),
    )
}
