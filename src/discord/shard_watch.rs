//! The shards as operators see them: their connection stage and heartbeat latency.
//!
//! serenity reports a stage change as an event only when it happens while a gateway event
//! is received (`events.rs` takes those, e.g. RESUMED). A connection lost and resumed in
//! place (a reset, Discord's RECONNECT) changes the stage outside that window, so the stage
//! and latency the shard manager holds (refreshed by serenity on every heartbeat ACK) are
//! read here every second too: a session left resuming shows within one heartbeat.
//!
//! The same look repairs a shard serenity 0.12 lets die: when sending a presence update
//! (the daily status) fails because the connection has just dropped, its runner ends
//! without asking for a restart (serenity issue 3347), and the bot would stay offline with
//! the process still running. A runner that has ended leaves its message channel closed;
//! such a shard is restarted here.

use crate::telemetry::metrics;
use crate::telemetry::vitals::Vitals;
use serenity::all::{ConnectionStage, ShardId, ShardManager};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the shard manager is read (one short lock).
const EVERY: Duration = Duration::from_secs(1);

/// serenity's stage as our label (and `connected` as `Vitals` understands it).
pub fn stage_name(stage: ConnectionStage) -> &'static str {
    match stage {
        ConnectionStage::Connected => "connected",
        ConnectionStage::Connecting => "connecting",
        ConnectionStage::Disconnected => "disconnected",
        ConnectionStage::Handshake => "handshake",
        ConnectionStage::Identifying => "identifying",
        ConnectionStage::Resuming => "resuming",
        _ => "other",
    }
}

/// Reads every shard's stage and latency until the client that owns `shards` is gone.
pub fn spawn(shards: &Arc<ShardManager>, vitals: Arc<Vitals>) {
    let shards: Weak<ShardManager> = Arc::downgrade(shards);
    tokio::spawn(async move {
        let mut suspects: HashSet<ShardId> = HashSet::new();
        let mut restarting: HashMap<ShardId, tokio::task::JoinHandle<()>> = HashMap::new();
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(manager) = shards.upgrade() else {
                return;
            };
            let mut ended = HashSet::new();
            {
                let runners = manager.runners.lock().await;
                for (id, runner) in runners.iter() {
                    metrics::shard_latency(id.0, runner.latency);
                    vitals.shard_stage(id.0, stage_name(runner.stage));
                    if runner_has_ended(&runner.runner_tx) {
                        ended.insert(*id);
                    }
                }
            }
            restarting.retain(|_, restart| !restart.is_finished());
            // Two looks in a row: a restart serenity asked for itself also leaves a closed
            // channel behind, for the few milliseconds until it removes that runner.
            for id in ended.intersection(&suspects) {
                if restarting.contains_key(id) {
                    continue;
                }
                tracing::warn!(
                    shard = id.0,
                    "a shard's runner stopped on its own; restarting it"
                );
                vitals.shard_stage(id.0, "disconnected");
                // Waits up to 5 s for the dead runner to acknowledge, then boots a new one.
                let (manager, id) = (manager.clone(), *id);
                restarting.insert(id, tokio::spawn(async move { manager.restart(id).await }));
            }
            suspects = ended;
        }
    });
}

/// Whether the runner behind `messenger` is gone: its receiving end was dropped. serenity
/// keeps the channel private; the channel's `Debug` says whether it is closed.
fn runner_has_ended(messenger: &serenity::all::ShardMessenger) -> bool {
    format!("{messenger:?}").contains("closed: true")
}
