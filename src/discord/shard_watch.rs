//! The shards as operators see them: their connection stage (told by serenity's stage
//! events, see `events.rs`) and their heartbeat latency, which serenity keeps only in the
//! shard manager, so it is read from there every few seconds while the client runs.

use crate::telemetry::metrics;
use serenity::all::{ConnectionStage, ShardManager};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the shard manager is read.
const EVERY: Duration = Duration::from_secs(5);

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

/// Reads every shard's latency until the client that owns `shards` is gone.
pub fn spawn(shards: &Arc<ShardManager>) {
    let shards: Weak<ShardManager> = Arc::downgrade(shards);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(manager) = shards.upgrade() else {
                return;
            };
            let runners = manager.runners.lock().await;
            for (id, runner) in runners.iter() {
                metrics::shard_latency(id.0, runner.latency);
            }
        }
    });
}
