//! The Discord token and the LLM API key never reach the logs (plain or JSON) nor the
//! `/metrics` body; JSON log lines carry the guild, channel and message of their spans.
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
/// Set (to anything) for JSON logs in the child.
const JSON_VAR: &str = "PERSONABOT_E2E_SECRETS_JSON";
/// Printed before the child's `/metrics` body.
const METRICS_MARK: &str = "SECRETS-CHILD-METRICS";
const CHILD_DONE: &str = "SECRETS-CHILD-DONE";

fn secret_env() -> [(&'static str, &'static str); 2] {
    [
        ("PERSONABOT__DISCORD__TOKEN", TOKEN),
        ("PERSONABOT__LLM__API_KEY", API_KEY),
    ]
}

#[test]
fn secrets_never_reach_the_logs() {
    run_child_and_search(false);
}

/// JSON mode, and the `/metrics` body the child prints: no secret either; and every line
/// logged inside a reply names its server, channel and message.
#[test]
fn secrets_never_reach_json_logs_or_metrics_and_spans_name_the_message() {
    let log = run_child_and_search(true);
    let metrics = log
        .split_once(METRICS_MARK)
        .map(|(_, rest)| rest)
        .expect("the child printed /metrics");
    assert!(
        metrics.contains("personabot_messages_received_total"),
        "{metrics}"
    );
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 100, "few JSON lines: {}", lines.len());
    let in_reply = |line: &&serde_json::Value| {
        line["spans"].as_array().is_some_and(|spans| {
            spans.iter().any(|span| {
                span["name"] == "reply"
                    && span["guild"].to_string().trim_matches('"') == ids::GUILD.to_string()
                    && span["channel"].to_string().trim_matches('"') == ids::GENERAL.to_string()
                    && span.get("message").is_some()
            })
        })
    };
    let replying: Vec<_> = lines.iter().filter(in_reply).collect();
    assert!(
        replying
            .iter()
            .any(|l| l["fields"]["message"] == "model usage"),
        "no model call logged inside the reply span ({} lines in it)",
        replying.len()
    );
    assert!(
        lines.iter().any(|l| l["span"]["name"] == "message"
            && l["span"]["channel"].to_string().trim_matches('"') == ids::GENERAL.to_string()),
        "the gateway's message span is on its lines"
    );
}

/// Runs the child scenario (plain or JSON logs), checks it ran with the bot's logs
/// captured, and that no secret appears anywhere in what it wrote; returns the capture.
fn run_child_and_search(json: bool) -> String {
    let mut child = Command::new(std::env::current_exe().expect("test binary path"));
    child
        .args([
            "secrets::child_bot_run",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, "1")
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1");
    if json {
        child.env(JSON_VAR, "1");
    }
    let output = child.output().expect("run the child test");
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
    log
}

/// The child's scenario: start with distinctive secrets, answer a mention, shut down.
#[test]
fn child_bot_run() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    personabot::telemetry::init(&personabot::config::TelemetrySettings {
        filter: "trace".into(),
        json: std::env::var_os(JSON_VAR).is_some(),
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
        let addr = app.ops_addr().expect("the ops server runs");
        let metrics = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("scrape /metrics");
        let metrics = metrics.text().await.expect("the metrics body");
        app.shutdown().await.expect("clean shutdown");
        println!("{METRICS_MARK}\n{metrics}");
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
