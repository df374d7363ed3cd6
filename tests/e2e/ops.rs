//! The ops server of a running bot, scraped over HTTP as Prometheus and an orchestrator
//! would: `/metrics` counters move with the conversation (tokens counted per server, for
//! both servers), `/healthz` answers, and `/readyz` follows the gateway (unready while the
//! session is down, ready again after RESUME) and the model (unready while it fails).
//!
//! The metrics recorder is process-wide and the e2e tests run in one process, so counters
//! here are compared before and after (they only grow), never to exact values.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{TestBot, WAIT, eventually, spawn_bot_on, spawn_bot_with, wait_for_posts};
use fakes::{DiscordOptions, Reply, ids};
use std::net::SocketAddr;

/// An HTTP client of one test's ops server (one per test: a client's pooled connections
/// belong to the runtime that made them, and each test has its own).
pub struct OpsClient {
    client: reqwest::Client,
    addr: SocketAddr,
}

impl OpsClient {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            client: reqwest::Client::new(),
            addr,
        }
    }

    /// `GET path`: status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .expect("the ops server answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a text body"))
    }
}

/// The sum of the samples of `name` whose labels include every `labels` pair.
pub fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

async fn wait_ready(ops: &OpsClient, want: bool) -> String {
    wait_ready_at(ops, "/readyz", want).await
}

async fn wait_ready_at(ops: &OpsClient, path: &str, want: bool) -> String {
    let what = format!("{path} {}", if want { 200 } else { 503 });
    eventually(&what, || async {
        let (status, body) = ops.get(path).await;
        ((status == 200) == want).then_some(body)
    })
    .await
}

async fn mention_in_both_servers(bot: &TestBot, n: usize) {
    for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
        bot.discord
            .user_says(
                channel,
                ids::ALICE,
                &format!("<@{}> status report?", ids::BOT),
            )
            .await;
        wait_for_posts(&bot.discord, channel, n).await;
    }
}

async fn metrics_move_and_readiness_follows_gateway_and_model(backend: Backend) {
    // serenity resumes a reset connection in place without a stage event; the shard
    // manager's stage (refreshed on each heartbeat ACK) shows it: heartbeat often here.
    let options = DiscordOptions {
        heartbeat_interval_ms: 250,
        ..DiscordOptions::default()
    };
    let bot = spawn_bot_on(backend, options, &[]).await;
    let ops = OpsClient::new(bot.app.ops_addr().expect("the ops server runs"));
    assert_eq!(ops.get("/healthz").await, (200, "ok\n".to_owned()));
    let ready = wait_ready(&ops, true).await;
    assert!(ready.starts_with("ready\n"), "{ready}");
    for check in ["gateway ok", "database ok", "model ok"] {
        assert!(ready.contains(check), "{ready}");
    }

    // Counters move with a mention answered in each server.
    let (status, before) = ops.get("/metrics").await;
    assert_eq!(status, 200);
    mention_in_both_servers(&bot, 1).await;
    let moved = |name: &'static str, labels: &'static [(&'static str, &'static str)]| {
        let before = sample(&before, name, labels);
        move |after: &str| sample(after, name, labels) > before
    };
    let checks = [
        ("received", moved("personabot_messages_received_total", &[])),
        ("logged", moved("personabot_messages_logged_total", &[])),
        ("replies", moved("personabot_replies_total", &[])),
        (
            "triggers",
            moved("personabot_triggers_total", &[("kind", "mentioned")]),
        ),
        (
            "model calls",
            moved(
                "personabot_model_calls_total",
                &[("kind", "chat"), ("outcome", "ok")],
            ),
        ),
        (
            "latency",
            moved("personabot_model_call_seconds_count", &[("kind", "chat")]),
        ),
        (
            "tokens, first server",
            moved(
                "personabot_model_tokens_total",
                &[("type", "prompt"), ("guild", "2000")],
            ),
        ),
        (
            "tokens, second server",
            moved(
                "personabot_model_tokens_total",
                &[("type", "prompt"), ("guild", "2001")],
            ),
        ),
        (
            "completion tokens, second server",
            moved(
                "personabot_model_tokens_total",
                &[("type", "completion"), ("guild", "2001")],
            ),
        ),
        (
            "flushes",
            moved("personabot_store_flush_seconds_count", &[]),
        ),
    ];
    let after = eventually("every counter to move", || async {
        let (_, after) = ops.get("/metrics").await;
        checks
            .iter()
            .all(|(_, moved)| moved(&after))
            .then_some(after)
    })
    .await;
    for (what, moved) in &checks {
        assert!(moved(&after), "{what} did not move");
    }
    for help in [
        "# HELP personabot_model_tokens_total",
        "# TYPE personabot_model_call_seconds histogram",
    ] {
        assert!(after.contains(help), "{help} missing");
    }

    // Cheap to ask: figures for the report (loopback HTTP included).
    for path in ["/readyz", "/metrics"] {
        let started = std::time::Instant::now();
        for _ in 0..50 {
            assert!(ops.get(path).await.0 < 600);
        }
        println!(
            "ops: GET {path} takes {:?} on average",
            started.elapsed() / 50
        );
    }

    // A consolidation run is timed and counted by outcome.
    let runs = |body: &str| {
        sample(
            body,
            "personabot_consolidation_runs_total",
            &[("outcome", "finished")],
        )
    };
    let before = runs(&ops.get("/metrics").await.1);
    bot.app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("the consolidator answers")
        .expect("consolidation ran");
    let (_, metrics) = ops.get("/metrics").await;
    assert!(runs(&metrics) > before, "consolidation counted");
    assert!(sample(&metrics, "personabot_consolidation_seconds_count", &[]) >= 1.0);

    // An actor that dies is restarted by the supervisor, and counted.
    let restarts = |body: &str| {
        sample(
            body,
            "personabot_actor_restarts_total",
            &[("actor", "store")],
        )
    };
    let before = restarts(&ops.get("/metrics").await.1);
    bot.app
        .store
        .slot()
        .get()
        .expect("the store actor runs")
        .kill();
    eventually("the store actor's restart counted", || async {
        (restarts(&ops.get("/metrics").await.1) > before).then_some(())
    })
    .await;

    // The gateway drops and the session stays down: unready; RESUME: ready again.
    bot.discord.hold_resumes();
    bot.discord.drop_connection().await;
    let down = wait_ready(&ops, false).await;
    assert!(down.contains("gateway FAIL"), "{down}");
    assert!(down.contains("database ok"), "{down}");
    assert_eq!(ops.get("/healthz").await.0, 200, "alive while unready");
    bot.discord.release_resumes();
    bot.discord
        .wait_for_resumed(1, WAIT)
        .await
        .expect("the bot RESUMEd");
    let back = wait_ready(&ops, true).await;
    assert!(back.contains("gateway ok"), "{back}");
    let (_, metrics) = ops.get("/metrics").await;
    assert!(
        sample(
            &metrics,
            "personabot_shard_stage_changes_total",
            &[("stage", "resuming")]
        ) >= 1.0,
        "the resume was counted"
    );

    // The model server fails: unready, with the model named.
    bot.openai
        .go_down(Reply::status(503, "down for maintenance"));
    bot.discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &format!("<@{}> still there?", ids::BOT),
        )
        .await;
    let failing = wait_ready(&ops, false).await;
    assert!(failing.contains("model FAIL"), "{failing}");
    assert!(failing.contains("gateway ok"), "{failing}");
    let (_, metrics) = ops.get("/metrics").await;
    assert!(
        sample(
            &metrics,
            "personabot_model_errors_total",
            &[("kind", "api")]
        ) >= 1.0
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(metrics_move_and_readiness_follows_gateway_and_model);

/// With `ops.listen` off there is no ops listener, and the routes can still be mounted on
/// another server (as the web console does) over the app's state.
async fn ops_routes_mount_on_another_server(backend: Backend) {
    let bot = spawn_bot_with(backend, &[("PERSONABOT__OPS__LISTEN", "")]).await;
    assert_eq!(bot.app.ops_addr(), None, "no listener of its own");
    let state = bot.app.ops_state().expect("a connected app has ops state");
    let app = axum::Router::new().nest("/ops", personabot::ops::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ops = OpsClient::new(listener.local_addr().expect("bound"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    assert_eq!(ops.get("/ops/healthz").await.0, 200);
    let ready = wait_ready_at(&ops, "/ops/readyz", true).await;
    assert!(ready.contains("gateway ok"), "{ready}");
    let (status, metrics) = ops.get("/ops/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("# TYPE personabot_"), "{metrics}");
    server.abort();
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(ops_routes_mount_on_another_server);
