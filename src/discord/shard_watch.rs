//! The shards as operators see them: their connection stage and heartbeat latency.
//!
//! serenity reports a stage change as an event only when it happens while a gateway event
//! is received (`events.rs` takes those, e.g. RESUMED). A connection lost and resumed in
//! place (a reset, Discord's RECONNECT) changes the stage outside that window, so the stage
//! and latency the shard manager holds (refreshed by serenity on every heartbeat ACK) are
//! read here every second too: a session left resuming shows within one heartbeat.

use crate::telemetry::metrics;
use crate::telemetry::vitals::Vitals;
use serenity::all::{ConnectionStage, ShardManager};
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
                vitals.shard_stage(id.0, stage_name(runner.stage));
            }
        }
    });
}
