//! The real `personabot` binary as an operator runs it: bad settings stop it with one clear
//! line, and SIGTERM shuts it down gracefully with nothing lost.

use crate::common::db::{Backend, TestDb};
use crate::e2e_both;
use crate::support::{WAIT, eventually};
use fakes::{FakeDiscord, FakeOpenAi, World, ids};
use personabot::domain::ChannelId;
use std::process::{Command, Stdio};

/// The real binary configured for the fakes and `db_url` only (no settings file, ops and
/// console on free ports); callers add their own settings.
pub(crate) fn bot_command(discord: &FakeDiscord, openai: &FakeOpenAi, db_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_personabot"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PERSONABOT__DISCORD__API_BASE", discord.rest_base())
        .env("PERSONABOT__DISCORD__TOKEN", "fake-token")
        .env("PERSONABOT__LLM__BASE_URL", openai.base_url())
        .env("PERSONABOT__LLM__API_KEY", "sk-fake")
        .env("PERSONABOT__DATABASE__URL", db_url)
        .env("PERSONABOT__OPS__LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        // Two of these run at once: the console on a free port each.
        .env("PERSONABOT__CONSOLE__LISTEN", "127.0.0.1:0")
        // No settings.yaml or .env from the working directory.
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null());
    command
}

#[test]
fn malformed_setting_is_one_clear_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_personabot"))
        .env_clear()
        .env("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS", "soon")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Without the console, a missing token is still one clear line.
#[test]
fn missing_token_is_one_clear_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_personabot"))
        .env_clear()
        .env("PERSONABOT__CONSOLE__ENABLED", "false")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run the binary");
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PERSONABOT__DISCORD__TOKEN"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// With no token, the binary does not exit: it serves the console's set-up and prints
/// where, with the one-time login code, holding its database meanwhile.
#[tokio::test]
async fn missing_token_opens_the_console() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_personabot"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PERSONABOT__CONSOLE__LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a line within the deadline")
        .expect("read")
        .expect("the console's line");
    let (_, rest) = line.split_once("http://").expect(&line);
    let (addr, code) = rest.split_once(' ').expect(&line);
    let code = code.rsplit(' ').next().expect("a code");
    assert_eq!(code.len(), 9, "{line}");
    let page = reqwest::get(format!("http://{addr}/login"))
        .await
        .expect("the console answers")
        .text()
        .await
        .expect("a page");
    assert!(page.contains("Log in to the console"), "{page}");
    assert!(
        child.try_wait().expect("status").is_none(),
        "still running, waiting for set-up"
    );
    // The database is already this process's while set-up waits: a second bot on the same
    // file (a token this time, no console) is refused instead of slipping in before it.
    let second = tokio::process::Command::new(env!("CARGO_BIN_EXE_personabot"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PERSONABOT__DISCORD__TOKEN", "fake-token")
        .env("PERSONABOT__CONSOLE__ENABLED", "false")
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .kill_on_drop(true)
        .output();
    // Were the file free, this one would start and try to reach Discord for good.
    let second = tokio::time::timeout(WAIT, second)
        .await
        .expect("the second bot stops at once: the database is taken")
        .expect("run a second bot");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another personabot process is already using the SQLite database"),
        "{stderr}"
    );
    let _ = child.kill().await;
}

/// SIGTERM while chatting: the process exits 0 and every message it received is stored.
async fn sigterm_shuts_down_gracefully(backend: Backend) {
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(backend).await;
    let mut child = bot_command(&discord, &openai, &db.url)
        .spawn()
        .expect("start the bot");
    discord
        .wait_for_ready(WAIT)
        .await
        .expect("the process connected");
    discord
        .wait_for_request(|r| r.path.ends_with("/commands"), WAIT)
        .await
        .expect("commands registered (startup finished)");
    for i in 0..20 {
        discord
            .user_says(ids::GENERAL, ids::ALICE, &format!("line {i}"))
            .await;
    }
    let store = personabot::store::Store::connect(&db.url, Default::default())
        .await
        .expect("open db");
    // Wait until the process has seen the last line (it is logged within the batch window).
    eventually("the bot received every line", || async {
        let log = personabot::store::messages::recent_messages(
            store.reader(),
            ChannelId(ids::GENERAL),
            chrono::Utc::now() - chrono::Duration::hours(1),
            100,
        )
        .await
        .ok()?;
        log.iter().any(|m| m.content == "line 19").then_some(())
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exit.success(), "exit status {exit}");
    let log = personabot::store::messages::recent_messages(
        store.reader(),
        ChannelId(ids::GENERAL),
        chrono::Utc::now() - chrono::Duration::hours(1),
        100,
    )
    .await
    .expect("read");
    for i in 0..20 {
        assert_eq!(
            log.iter()
                .filter(|m| m.content == format!("line {i}"))
                .count(),
            1,
            "line {i}"
        );
    }
}
e2e_both!(sigterm_shuts_down_gracefully);

/// The binary serves its ops endpoints where `ops.listen` says, and `personabot
/// healthcheck` (the container's HEALTHCHECK) asks `/healthz` there: 0 while it runs,
/// non-zero once it is gone.
async fn binary_serves_ops_and_answers_its_healthcheck(backend: Backend) {
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(backend).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = bot_command(&discord, &openai, &db.url)
        .env("PERSONABOT__OPS__LISTEN", &listen)
        .spawn()
        .expect("start the bot");
    discord
        .wait_for_ready(WAIT)
        .await
        .expect("the process connected");
    let healthcheck = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_personabot"));
        command
            .arg("healthcheck")
            .env_clear()
            .env(
                "PERSONABOT__OPS__LISTEN",
                listen.replace("127.0.0.1", "0.0.0.0"),
            )
            .current_dir(std::env::temp_dir());
        command.status().expect("run the healthcheck")
    };
    let ready = eventually("/readyz 200 from the binary", || async {
        let response = reqwest::get(format!("http://{listen}/readyz")).await.ok()?;
        (response.status() == 200).then_some(response.text().await.ok()?)
    })
    .await;
    assert!(ready.starts_with("ready"), "{ready}");
    assert!(healthcheck().success(), "healthcheck while running");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exit.success(), "exit status {exit}");
    assert!(!healthcheck().success(), "healthcheck after exit");
}
e2e_both!(binary_serves_ops_and_answers_its_healthcheck);

/// Resident kB of the bot's own code (its read-only executable mappings).
fn code_resident_kb(pid: u32) -> u64 {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the bot's executable");
    personabot::telemetry::memory::mappings_of(&pid.to_string())
        .expect("the bot's mappings")
        .iter()
        .filter(|m| m.path == exe.to_string_lossy() && !m.writable)
        .map(|m| m.rss_kb)
        .sum()
}

/// Once every channel has gone quiet the process unmaps its program text (most of an idle
/// bot's memory); answering afterwards faults it back in, in both servers.
async fn quiet_bot_gives_its_code_back_and_still_answers(backend: Backend) {
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(backend).await;
    let mut command = bot_command(&discord, &openai, &db.url);
    command.env("PERSONABOT__BOT__CHANNEL_IDLE_SECS", "1");
    // A failed assertion must not leave the bot running.
    let mut child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()
        .expect("start the bot");
    let pid = child.id().expect("a running bot");
    discord
        .wait_for_request(|r| r.path.ends_with("/commands"), WAIT)
        .await
        .expect("commands registered (startup finished)");
    let answers_in_both = |round: &'static str| {
        let discord = &discord;
        async move {
            for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
                discord
                    .user_says(channel, ids::ALICE, &format!("<@{}> {round}", ids::BOT))
                    .await;
                let path = format!("/channels/{channel}/messages");
                discord
                    .wait_for_request(|r| r.is("POST", &path), WAIT)
                    .await
                    .expect("a reply");
            }
        }
    };
    // Past the release at the end of start-up (a second after READY): what follows is the
    // quiet channels' doing.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    answers_in_both("first round").await;
    let busy = code_resident_kb(pid);
    eventually("the quiet bot unmapped its code", || async {
        (code_resident_kb(pid) * 2 < busy).then_some(())
    })
    .await;
    let before = crate::support::posts_to(&discord, ids::OTHER_GENERAL).len();
    answers_in_both("second round").await;
    eventually("both servers answered again", || async {
        (crate::support::posts_to(&discord, ids::OTHER_GENERAL).len() > before).then_some(())
    })
    .await;
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = child.wait().await.expect("wait");
    assert!(exit.success(), "exit status {exit}");
}
e2e_both!(quiet_bot_gives_its_code_back_and_still_answers);
