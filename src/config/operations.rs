//! Settings sections for running under strain: the model's circuit breaker and each
//! channel's queue (`overload`), and how temporary bans are lifted when Discord refuses
//! (`moderation`). Kept apart from `config/mod.rs` so each file stays readable.

use serde::Deserialize;

/// Model outages and mention floods: the model's circuit breaker and each channel's queue.
#[derive(Debug, Clone, Deserialize)]
pub struct OverloadSettings {
    /// Model failures in a row (timeouts, 5xx, 429, unreachable) that open the breaker.
    pub breaker_failures: u32,
    /// How long the open breaker refuses calls before it lets one trial call through.
    pub breaker_cool_down_secs: u64,
    /// How long the breaker stays open after a refusal only the operator can fix.
    pub breaker_refusal_cool_down_secs: u64,
    /// Replies waiting per channel behind the running one.
    pub max_pending_replies: usize,
    /// A mention older than this when its reply would start is not answered.
    pub max_mention_age_secs: u64,
}

/// Lifting temporary bans: how often, and how refusals are retried and given up
/// (`domain::lifting`; `steps::ban_lifting::lift_policy`).
#[derive(Debug, Clone, Deserialize)]
pub struct ModerationSettings {
    pub ban_check_interval_ms: u64,
    pub unban_max_refusals: u32,
    pub unban_max_failures: u32,
    pub unban_max_failures_per_tick: u32,
    pub unban_retry_base_ms: u64,
    pub unban_retry_max_ms: u64,
}
