//! Every Prometheus metric the bot exports, named once here: call sites use the typed
//! helpers below (`metrics::reply_sent()`), so a name or a label cannot drift between two
//! places, and the `metrics` facade crate is named nowhere else (archcheck).
//!
//! Recording is a no-op until a recorder is installed ([`install`], done by the ops server),
//! so the bot pays almost nothing when metrics are off. Labels stay bounded: kinds and
//! outcomes are fixed sets, shards are the process's shard ids, and the server id appears
//! only on the token counter, which the operator asked for by server.

use crate::domain::GuildId;
use crate::domain::budget::TokenUsage;
use crate::domain::trigger::{TriggerDecision, TriggerReason};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

pub const MESSAGES_RECEIVED: &str = "personabot_messages_received_total";
pub const MESSAGES_LOGGED: &str = "personabot_messages_logged_total";
pub const REPLIES: &str = "personabot_replies_total";
pub const TRIGGERS: &str = "personabot_triggers_total";
pub const MODEL_CALLS: &str = "personabot_model_calls_total";
pub const MODEL_CALL_SECONDS: &str = "personabot_model_call_seconds";
pub const MODEL_ERRORS: &str = "personabot_model_errors_total";
pub const MODEL_TOKENS: &str = "personabot_model_tokens_total";
pub const REST_ERRORS: &str = "personabot_rest_errors_total";
pub const RATE_LIMITED: &str = "personabot_rate_limited_total";
pub const STORE_PENDING: &str = "personabot_store_pending";
pub const STORE_FLUSH_SECONDS: &str = "personabot_store_flush_seconds";
pub const ACTOR_RESTARTS: &str = "personabot_actor_restarts_total";
pub const CHANNEL_ACTORS: &str = "personabot_channel_actors";
pub const CONSOLIDATION_SECONDS: &str = "personabot_consolidation_seconds";
pub const CONSOLIDATION_RUNS: &str = "personabot_consolidation_runs_total";
pub const SHARD_LATENCY_SECONDS: &str = "personabot_shard_latency_seconds";
pub const SHARD_CONNECTED: &str = "personabot_shard_connected";
pub const SHARD_STAGE_CHANGES: &str = "personabot_shard_stage_changes_total";
pub const READY: &str = "personabot_ready";

/// Histogram buckets in seconds: from a 1 ms batch write to a 2-minute model call or a long
/// consolidation (whose last bucket, +Inf, catches the rest).
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 600.0,
];

/// Installs the process-wide Prometheus recorder once and returns its handle (every later
/// call, say a second app in one test process, gets the same handle). `None` if another
/// recorder was installed first by someone else.
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS);
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "could not install the Prometheus recorder; /metrics stays empty");
                    None
                }
            }
        })
        .clone()
}

/// HELP lines, so `/metrics` explains itself.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        MESSAGES_RECEIVED,
        "Chat messages received from the gateway (members' speech in servers)."
    );
    describe_counter!(
        MESSAGES_LOGGED,
        "Chat messages written to the database's chat log."
    );
    describe_counter!(REPLIES, "Answers the bot posted (sent by the reply step).");
    describe_counter!(
        TRIGGERS,
        "Messages found addressed to the bot, by why (kind)."
    );
    describe_counter!(
        MODEL_CALLS,
        "Calls to the model server by kind (chat, judge, embed, probe) and outcome."
    );
    describe_histogram!(
        MODEL_CALL_SECONDS,
        "Model call latency by kind, retries included."
    );
    describe_counter!(
        MODEL_ERRORS,
        "Failed model calls by kind of failure (unavailable: refused by the circuit breaker)."
    );
    describe_counter!(
        MODEL_TOKENS,
        "Tokens by type (prompt, completion, cached) and server (guild; none: bot-wide or DMs)."
    );
    describe_counter!(
        REST_ERRORS,
        "Discord REST calls that failed, by HTTP status or transport."
    );
    describe_counter!(
        RATE_LIMITED,
        "Rate limits met, by service: Discord (429s and pre-emptive waits) and the model (429 after retries)."
    );
    describe_gauge!(
        STORE_PENDING,
        "Writes waiting for the database: journal (chat messages) and lane (other writes)."
    );
    describe_histogram!(
        STORE_FLUSH_SECONDS,
        "Time to write one batch of chat messages."
    );
    describe_counter!(
        ACTOR_RESTARTS,
        "Actors restarted after a failure, by actor."
    );
    describe_gauge!(
        CHANNEL_ACTORS,
        "Channel actors alive (one per recently active channel)."
    );
    describe_histogram!(
        CONSOLIDATION_SECONDS,
        "Duration of a memory consolidation run."
    );
    describe_counter!(CONSOLIDATION_RUNS, "Memory consolidation runs by outcome.");
    describe_gauge!(
        SHARD_LATENCY_SECONDS,
        "Gateway heartbeat round trip per shard."
    );
    describe_gauge!(
        SHARD_CONNECTED,
        "1 while the shard's gateway session is connected, else 0."
    );
    describe_counter!(
        SHARD_STAGE_CHANGES,
        "Gateway connection stage changes per shard, by the stage entered."
    );
    describe_gauge!(READY, "1 when the last /readyz check passed, else 0.");
}

/// A member's message arrived from the gateway.
pub fn message_received() {
    counter!(MESSAGES_RECEIVED).increment(1);
}

/// `n` chat messages were written to the chat log.
pub fn messages_logged(n: usize) {
    counter!(MESSAGES_LOGGED).increment(n as u64);
}

/// The bot posted an answer.
pub fn reply_sent() {
    counter!(REPLIES).increment(1);
}

/// A trigger decision; ignored messages are not counted.
pub fn triggered(decision: &TriggerDecision) {
    let kind = match decision {
        TriggerDecision::Reply(TriggerReason::Mentioned) => "mentioned",
        TriggerDecision::Reply(TriggerReason::RepliedToBot) => "replied_to_bot",
        TriggerDecision::Reply(TriggerReason::NameSaid) => "name_said",
        TriggerDecision::Reply(TriggerReason::FollowUp) => "follow_up",
        TriggerDecision::Ambiguous => "ambiguous",
        TriggerDecision::Ignore(_) => return,
    };
    counter!(TRIGGERS, "kind" => kind).increment(1);
}

/// What a model call was for, as its `kind` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelCall {
    Chat,
    Judge,
    Embed,
    /// The readiness probe (`GET /models`) while the bot is idle.
    Probe,
}

impl ModelCall {
    fn label(self) -> &'static str {
        match self {
            ModelCall::Chat => "chat",
            ModelCall::Judge => "judge",
            ModelCall::Embed => "embed",
            ModelCall::Probe => "probe",
        }
    }
}

/// One model call that reached the server (or failed trying), with its latency.
/// `error`: the failure's kind (`timeout`, `api`, `transport`, `malformed`, `empty`).
pub fn model_call(kind: ModelCall, took: Duration, error: Option<&'static str>) {
    let outcome = if error.is_some() { "error" } else { "ok" };
    counter!(MODEL_CALLS, "kind" => kind.label(), "outcome" => outcome).increment(1);
    histogram!(MODEL_CALL_SECONDS, "kind" => kind.label()).record(took.as_secs_f64());
    if let Some(error) = error {
        model_error(error);
    }
}

/// A model call failed (also those refused by the breaker: `unavailable`).
pub fn model_error(kind: &'static str) {
    counter!(MODEL_ERRORS, "kind" => kind).increment(1);
}

/// Tokens a call cost, charged to `guild` (`None`: bot-wide work or a DM).
pub fn tokens_used(guild: Option<GuildId>, usage: TokenUsage) {
    let guild = guild
        .and_then(GuildId::as_server)
        .map_or_else(|| "none".to_owned(), |g| g.to_string());
    for (kind, n) in [
        ("prompt", usage.prompt),
        ("completion", usage.completion),
        ("cached", usage.cached),
    ] {
        counter!(MODEL_TOKENS, "type" => kind, "guild" => guild.clone()).increment(n);
    }
}

/// A Discord REST call failed: `kind` is the HTTP status (`"403"`) or `"transport"`.
pub fn rest_error(kind: String) {
    counter!(REST_ERRORS, "kind" => kind).increment(1);
}

/// Which service made the bot wait.
#[derive(Clone, Copy, Debug)]
pub enum RateLimited {
    Discord,
    Model,
}

pub fn rate_limited(by: RateLimited) {
    let service = match by {
        RateLimited::Discord => "discord",
        RateLimited::Model => "model",
    };
    counter!(RATE_LIMITED, "service" => service).increment(1);
}

/// Writes waiting: chat messages in the journal, other writes in the lane's queue.
pub fn store_pending(journal: usize, lane: usize) {
    gauge!(STORE_PENDING, "queue" => "journal").set(journal as f64);
    gauge!(STORE_PENDING, "queue" => "lane").set(lane as f64);
}

/// One batch of chat messages was written (or failed to be) in `took`.
pub fn store_flushed(took: Duration) {
    histogram!(STORE_FLUSH_SECONDS).record(took.as_secs_f64());
}

/// The supervisor restarts `actor` (a fixed role name such as `store`, or `channel`).
pub fn actor_restarted(actor: &'static str) {
    counter!(ACTOR_RESTARTS, "actor" => actor).increment(1);
}

pub fn channel_actors(alive: usize) {
    gauge!(CHANNEL_ACTORS).set(alive as f64);
}

/// A consolidation run ended: `outcome` is `finished` or `failed`.
pub fn consolidation_ran(took: Duration, outcome: &'static str) {
    histogram!(CONSOLIDATION_SECONDS).record(took.as_secs_f64());
    counter!(CONSOLIDATION_RUNS, "outcome" => outcome).increment(1);
}

/// A shard's heartbeat round trip (`None`: not measured yet).
pub fn shard_latency(shard: u32, latency: Option<Duration>) {
    if let Some(latency) = latency {
        gauge!(SHARD_LATENCY_SECONDS, "shard" => shard.to_string()).set(latency.as_secs_f64());
    }
}

/// A shard entered a connection stage (`connected`, `resuming`, `disconnected`, ...).
pub fn shard_stage(shard: u32, stage: &'static str, connected: bool) {
    let shard = shard.to_string();
    counter!(SHARD_STAGE_CHANGES, "shard" => shard.clone(), "stage" => stage).increment(1);
    gauge!(SHARD_CONNECTED, "shard" => shard).set(if connected { 1.0 } else { 0.0 });
}

pub fn ready(ready: bool) {
    gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let counters = [
            MESSAGES_RECEIVED,
            MESSAGES_LOGGED,
            REPLIES,
            TRIGGERS,
            MODEL_CALLS,
            MODEL_ERRORS,
            MODEL_TOKENS,
            REST_ERRORS,
            RATE_LIMITED,
            ACTOR_RESTARTS,
            CONSOLIDATION_RUNS,
            SHARD_STAGE_CHANGES,
        ];
        for name in counters {
            assert!(
                name.starts_with("personabot_") && name.ends_with("_total"),
                "{name}"
            );
        }
        for name in [
            MODEL_CALL_SECONDS,
            STORE_FLUSH_SECONDS,
            CONSOLIDATION_SECONDS,
        ] {
            assert!(name.ends_with("_seconds"), "{name}");
        }
        let valid = |c: char| c.is_ascii_lowercase() || c == '_';
        for name in counters
            .iter()
            .chain(&[STORE_PENDING, CHANNEL_ACTORS, READY])
        {
            assert!(name.chars().all(valid), "{name}");
        }
    }
}
