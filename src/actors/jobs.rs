//! The bot's repeated jobs as [`PeriodicStep`]s: each wraps one step (`crate::steps`)
//! with what it needs, so a single actor shape (`PeriodicActor`) runs them all.

use super::periodic::{PeriodicHandle, PeriodicStep};
use crate::domain::ChannelId;
use crate::domain::proactive::ProactiveDecision;
use crate::steps::ban_lifting::{BanLiftingDeps, BanLiftingError, LiftedBan, lift_due_bans};
use crate::steps::consolidation::{ConsolidationDeps, ConsolidationError, RunReport, run_once};
use crate::steps::daily::{DailyDeps, DailyError, new_day};
use crate::steps::proactive::{ProactiveDeps, ProactiveError, tick};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// How long the nightly run waits for the new mood and status.
const NEW_DAY_TIMEOUT: Duration = Duration::from_secs(300);

/// Lifts temporary bans whose time is up (every `moderation.ban_check_interval_ms`).
pub struct BanLifting(pub Arc<BanLiftingDeps>);

#[async_trait]
impl PeriodicStep for BanLifting {
    type Output = Vec<LiftedBan>;
    type Error = BanLiftingError;
    const NAME: &'static str = "ban lifting";
    const ROLE: &'static str = "ban_lifter";
    async fn run(&self, now: DateTime<Utc>) -> Result<Vec<LiftedBan>, BanLiftingError> {
        lift_due_bans(&self.0, now).await
    }
}

/// Decides, per channel, whether to speak up unprompted.
pub struct ProactiveTick(pub Arc<ProactiveDeps>);

#[async_trait]
impl PeriodicStep for ProactiveTick {
    type Output = Vec<(ChannelId, ProactiveDecision)>;
    type Error = ProactiveError;
    const NAME: &'static str = "proactive tick";
    const ROLE: &'static str = "proactive";
    async fn run(&self, now: DateTime<Utc>) -> Result<Self::Output, ProactiveError> {
        tick(&self.0, now).await
    }
}

/// The day's mood, then a status line from persona and mood (once for the whole bot).
pub struct NewDay(pub Arc<DailyDeps>);

#[async_trait]
impl PeriodicStep for NewDay {
    type Output = String;
    type Error = DailyError;
    const NAME: &'static str = "new day";
    const ROLE: &'static str = "status";
    async fn run(&self, now: DateTime<Utc>) -> Result<String, DailyError> {
        new_day(&self.0, now).await
    }
}

/// The nightly consolidation, then the new day (whether or not consolidation succeeded).
pub struct NightlyConsolidation {
    pub deps: Arc<ConsolidationDeps>,
    pub new_day: PeriodicHandle<NewDay>,
}

#[async_trait]
impl PeriodicStep for NightlyConsolidation {
    type Output = RunReport;
    type Error = ConsolidationError;
    const NAME: &'static str = "consolidation";
    const ROLE: &'static str = "consolidator";
    async fn run(&self, now: DateTime<Utc>) -> Result<RunReport, ConsolidationError> {
        let started = std::time::Instant::now();
        let report = run_once(&self.deps, now).await;
        let outcome = if report.is_ok() { "finished" } else { "failed" };
        crate::telemetry::metrics::consolidation_ran(started.elapsed(), outcome);
        // The day turns even when consolidation failed: mood and status do not depend on it.
        if let Err(error) = self.new_day.run_now(NEW_DAY_TIMEOUT).await {
            tracing::warn!(%error, "the new day could not start after consolidation");
        }
        report
    }
}
