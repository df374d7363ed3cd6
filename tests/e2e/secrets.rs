//! The Discord token and the LLM API key never reach the logs.
//!
//! Tracing's global subscriber is per process and the end-to-end tests share one process,
//! so this test runs the bot in a child process (this same test binary, filtered to
//! `child_bot_run`) with the production telemetry (`telemetry::init`, which also forwards
//! `log` records) at TRACE for every crate, captures everything it writes, and searches it.
//! The fakes run on their own thread with tracing switched off there: they are the other
//! end of the wire (tungstenite in the fake gateway logs the IDENTIFY it receives), not
//! part of the bot.

use crate::common::db::{Backend, TestDb};
use crate::support::{WAIT, settings};
use fakes::{DiscordOptions, FakeDiscord, FakeOpenAi, Reply, World, ids};
use std::process::Command;

const TOKEN: &str = "tok-SECRET-7f3a9c1e-discord";
const API_KEY: &str = "sk-SECRET-b84d20e6-openai";
/// Set in the child's environment; without it `child_bot_run` does nothing.
const CHILD_VAR: &str = "PERSONABOT_E2E_SECRETS_CHILD";
const CHILD_DONE: &str = "SECRETS-CHILD-DONE";

fn secret_env() -> [(&'static str, &'static str); 2] {
    [
        ("PERSONABOT__DISCORD__TOKEN", TOKEN),
        ("PERSONABOT__LLM__API_KEY", API_KEY),
    ]
}

#[test]
fn secrets_never_reach_the_logs() {
    let output = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "secrets::child_bot_run",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, "1")
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .output()
        .expect("run the child test");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let tail: String = log
        .lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(output.status.success(), "the child bot run failed:\n{tail}");
    assert!(
        log.contains(CHILD_DONE),
        "the child did not run the scenario:\n{tail}"
    );
    // The capture really holds the bot's TRACE/DEBUG output, not just the test harness's.
    assert!(
        log.contains("connected to Discord"),
        "no bot log captured:\n{tail}"
    );
    for needle in [
        "serenity",
        "personabot",
        "ractor",
        "sea_orm",
        "hyper_util",
        "TRACE",
        "DEBUG",
    ] {
        assert!(
            log.contains(needle),
            "{needle} missing from the captured log:\n{tail}"
        );
    }
    for secret in [TOKEN, API_KEY] {
        // Also the distinctive middle part, in case something prints a secret split or
        // with a prefix ("Bot …", "Bearer …").
        let core = &secret[4..secret.len() - 4];
        let leaks: Vec<&str> = log.lines().filter(|l| l.contains(core)).take(5).collect();
        assert!(
            leaks.is_empty(),
            "a secret reached the log ({} bytes captured):\n{}",
            log.len(),
            leaks.join("\n")
        );
    }
}

/// The child's scenario: start with distinctive secrets, answer a mention, shut down.
#[test]
fn child_bot_run() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    personabot::telemetry::init(&personabot::config::TelemetrySettings {
        filter: "trace".into(),
        json: false,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (discord, openai) = start_fakes_without_logs();
        openai.set_default(Reply::text("Nothing to hide here."));
        let db = TestDb::new(Backend::Sqlite).await;
        let settings = settings(&discord, &openai, &db.url, &secret_env());
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains(TOKEN) && !shown.contains(API_KEY),
            "Debug of Settings shows a secret"
        );
        tracing::debug!(?settings, "settings loaded");
        let app = personabot::app::App::start(settings)
            .await
            .expect("bot starts");
        app.wait_ready(WAIT).await.expect("gateway READY");
        discord
            .user_says(
                ids::GENERAL,
                ids::ALICE,
                &format!("<@{}> anything to declare?", ids::BOT),
            )
            .await;
        let post = discord
            .wait_for_request(|r| r.is("POST", "/channels/4000/messages"), WAIT)
            .await
            .expect("the bot answered");
        assert_eq!(post.content(), Some("Nothing to hide here."));
        // The secrets really were used: the fakes saw them on the wire.
        assert_eq!(
            openai.chat_requests()[0]
                .headers
                .get("authorization")
                .map(String::as_str),
            Some(format!("Bearer {API_KEY}").as_str())
        );
        assert!(
            post.headers
                .get("authorization")
                .is_some_and(|h| h.ends_with(TOKEN))
        );
        app.shutdown().await.expect("clean shutdown");
    });
    println!("{CHILD_DONE}");
}

/// Starts the fakes on a thread of their own whose tracing dispatcher discards everything
/// (`log` records from their tungstenite are forwarded to that same dispatcher).
fn start_fakes_without_logs() -> (FakeDiscord, FakeOpenAi) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _silent =
            tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("fakes runtime");
        runtime.block_on(async move {
            let options = DiscordOptions {
                token: TOKEN.into(),
                ..DiscordOptions::default()
            };
            let discord = FakeDiscord::start_with(World::default(), options).await;
            let openai = FakeOpenAi::start().await;
            let _ = tx.send((discord, openai));
            // Serve until the process ends.
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("fakes started")
}

/// `Debug` of the settings (what a `?settings` log field prints) redacts both secrets.
#[test]
fn settings_debug_redacts_secrets() {
    let env = secret_env()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let settings =
        personabot::config::Settings::load(personabot::config::Sources { file: None, env })
            .expect("valid settings");
    assert!(
        settings.discord.token.is_some() && settings.llm.api_key.is_some(),
        "secrets were read"
    );
    for shown in [
        format!("{settings:?}"),
        format!("{settings:#?}"),
        format!("{:?}", settings.discord),
        format!("{:?}", settings.llm),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains(API_KEY), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
}
