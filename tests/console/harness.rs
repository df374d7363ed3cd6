//! The bot started the way `main` starts it (`app::launch`: console first), wired to fresh
//! fakes and a fresh database.

use crate::common::db::{Backend, TestDb};
use crate::support::{WAIT, settings};
use fakes::{FakeDiscord, FakeOpenAi, World};
use personabot::app::App;
use personabot::app::launch::launch;
use personabot::console::SetupFiles;
use serde_json::Value;

pub struct ConsoleBot {
    pub app: App,
    pub discord: FakeDiscord,
    pub openai: FakeOpenAi,
    pub _db: TestDb,
    pub addr: std::net::SocketAddr,
    pub _dir: tempfile::TempDir,
}

pub const CONSOLE_ON_A_FREE_PORT: (&str, &str) = ("PERSONABOT__CONSOLE__LISTEN", "127.0.0.1:0");

/// A configured bot (token set) with its console beside it.
pub async fn spawn_console_bot(backend: Backend, world: World) -> ConsoleBot {
    spawn_console_bot_with(backend, world, &[]).await
}

/// Like [`spawn_console_bot`], with more settings (environment-style).
pub async fn spawn_console_bot_with(
    backend: Backend,
    world: World,
    extra: &[(&str, &str)],
) -> ConsoleBot {
    personabot::telemetry::init(&personabot::config::TelemetrySettings {
        filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        json: false,
    });
    let discord = FakeDiscord::start(world).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut all = vec![CONSOLE_ON_A_FREE_PORT];
    all.extend_from_slice(extra);
    let settings = settings(&discord, &openai, &db.url, &all);
    let files = SetupFiles {
        env_file: dir.path().join(".env"),
    };
    let app = launch(settings, files)
        .await
        .expect("console starts")
        .into_app()
        .await
        .expect("bot starts");
    app.wait_ready(WAIT).await.expect("gateway READY");
    discord
        .wait_for_ready(WAIT)
        .await
        .expect("fake saw IDENTIFY");
    let addr = app.console_addr().expect("the console runs beside the bot");
    ConsoleBot {
        app,
        discord,
        openai,
        _db: db,
        addr,
        _dir: dir,
    }
}

impl ConsoleBot {
    pub fn code(&self) -> String {
        self.app.console_login_code().expect("console")
    }
}

/// Runs a slash command and returns the text of its answer (the interaction callback).
pub async fn command_text(discord: &FakeDiscord, channel: u64, invoker: u64, name: &str) -> String {
    let handle = discord
        .slash_command(channel, invoker, name, serde_json::json!([]))
        .await;
    let path = format!("/interactions/{}/", handle.id);
    let request = discord
        .wait_for_request(|r| r.is("POST", &path), WAIT)
        .await
        .unwrap_or_else(|e| panic!("/{name} was not answered: {e}"));
    request.body.clone().unwrap_or(Value::Null).to_string()
}
