//! What readiness is decided from, kept current by the adapters as things happen: the
//! Discord adapter marks shards connected or not, the model decorator stamps answers and
//! failures. One `Vitals` per running app (tests run several apps in one process), shared
//! behind an `Arc`; reading it is a few atomic loads and one short lock, so `/readyz` costs
//! nothing. The rule itself is `domain::health`.

use super::metrics;
use crate::domain::health::{HealthInputs, ModelContact};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Vitals {
    epoch: Instant,
    /// Whether this process runs a gateway at all.
    gateway: AtomicBool,
    /// Shard id -> its last known stage. A std Mutex: held only to set or copy a few entries.
    shards: Mutex<BTreeMap<u32, &'static str>>,
    /// Milliseconds after `epoch`, plus one (0: never).
    model_answered: AtomicU64,
    model_failed: AtomicU64,
    /// What the model server last refused that only its operator can fix.
    model_refusal: Mutex<Option<String>>,
}

impl Default for Vitals {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            gateway: AtomicBool::new(false),
            shards: Mutex::new(BTreeMap::new()),
            model_answered: AtomicU64::new(0),
            model_failed: AtomicU64::new(0),
            model_refusal: Mutex::new(None),
        }
    }
}

impl Vitals {
    /// This process runs a gateway: readiness waits for its shards.
    pub fn expect_gateway(&self) {
        self.gateway.store(true, Ordering::Relaxed);
    }

    /// A shard is in `stage` (serenity's stage, lower-case: `connected`, `resuming`, ...),
    /// as an event told or a poll found; only a change is counted.
    pub fn shard_stage(&self, shard: u32, stage: &'static str) {
        let before = match self.shards.lock() {
            Ok(mut shards) => shards.insert(shard, stage),
            Err(_) => return,
        };
        if before != Some(stage) {
            metrics::shard_stage(shard, stage, stage == "connected");
        }
    }

    /// The shards this process is about to run: readiness waits for each of them (one
    /// that has not reported yet counts as not connected).
    pub fn expect_shards(&self, shards: impl IntoIterator<Item = u32>) {
        if let Ok(mut known) = self.shards.lock() {
            for shard in shards {
                known.entry(shard).or_insert("connecting");
            }
        }
    }

    /// The whole connection ended (the client stopped): every shard is down until it is
    /// connected again.
    pub fn gateway_lost(&self) {
        let shards: Vec<u32> = match self.shards.lock() {
            Ok(shards) => shards.keys().copied().collect(),
            Err(_) => return,
        };
        for shard in shards {
            self.shard_stage(shard, "disconnected");
        }
    }

    /// The model server answered (any answer shows it is up).
    pub fn model_answered(&self) {
        self.model_answered.store(self.now(), Ordering::Relaxed);
    }

    /// A model call failed the way an outage does (timeout, 5xx, 429, unreachable).
    pub fn model_failed(&self) {
        self.model_failed.store(self.now(), Ordering::Relaxed);
    }

    /// The server refused what only its operator can fix (`Some`), or a call went through
    /// (`None`).
    pub fn model_refused(&self, what: Option<String>) {
        if let Ok(mut refusal) = self.model_refusal.lock() {
            *refusal = what;
        }
    }

    /// What the model server last refused that only its operator can fix.
    pub fn model_refusal(&self) -> Option<String> {
        self.model_refusal.lock().ok().and_then(|r| r.clone())
    }

    /// Time since the model server was last heard from, either way (`None`: never).
    pub fn model_silent_for(&self) -> Option<Duration> {
        let contact = self.model_contact();
        match (contact.answered, contact.failed) {
            (Some(a), Some(f)) => Some(a.min(f)),
            (a, f) => a.or(f),
        }
    }

    /// What readiness is decided from, with the database's last ping.
    pub fn inputs(&self, database: Option<bool>, model_window: Duration) -> HealthInputs {
        let shards = self.gateway.load(Ordering::Relaxed).then(|| {
            self.shards
                .lock()
                .map(|s| s.iter().map(|(id, st)| (*id, *st == "connected")).collect())
                .unwrap_or_default()
        });
        HealthInputs {
            shards,
            database,
            model: self.model_contact(),
            model_window,
            model_refusal: self.model_refusal(),
        }
    }

    fn model_contact(&self) -> ModelContact {
        ModelContact {
            answered: self.age(&self.model_answered),
            failed: self.age(&self.model_failed),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn age(&self, stamp: &AtomicU64) -> Option<Duration> {
        match stamp.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_millis(self.now().saturating_sub(at))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_model_and_gateway_expectation_feed_the_inputs() {
        let vitals = Vitals::default();
        let minute = Duration::from_secs(60);
        assert_eq!(vitals.inputs(Some(true), minute).shards, None);
        vitals.expect_gateway();
        assert_eq!(vitals.inputs(Some(true), minute).shards, Some(vec![]));
        vitals.expect_shards([0, 1]);
        assert_eq!(
            vitals.inputs(Some(true), minute).shards,
            Some(vec![(0, false), (1, false)])
        );
        vitals.shard_stage(0, "connected");
        vitals.shard_stage(1, "resuming");
        assert_eq!(
            vitals.inputs(Some(true), minute).shards,
            Some(vec![(0, true), (1, false)])
        );
        assert_eq!(vitals.model_silent_for(), None);
        vitals.model_answered();
        let contact = vitals.inputs(None, minute).model;
        assert!(contact.answered.is_some_and(|a| a < minute) && contact.failed.is_none());
        vitals.model_failed();
        assert!(vitals.inputs(None, minute).model.failed.is_some());
        assert!(vitals.model_silent_for().is_some_and(|d| d < minute));
    }
}
