//! When to try lifting a temporary ban again, and when to give up.
//!
//! Discord counts every 401/403/429 answer against an IP: 10,000 in 10 minutes and the bot
//! is banned from the API for an hour. A lifter that retries every refused unban on every
//! tick gets there with a few hundred stuck bans, so each failure is charged, backed off
//! and, after a few, given up ("could not lift") for a moderator to handle by hand.
//!
//! The rules, all on the caller's clock:
//! - a **missing permission** (403) is the server's, not the case's: the bot lost Ban
//!   Members there, so every due case of that server is charged for the one request, and
//!   that server is not asked again in this tick;
//! - another **refusal** (any other 4xx) is the case's own; the server is left alone for
//!   the rest of the tick (one failed request per server per tick at most);
//! - a **transient** failure (5xx, timeout, no connection) is Discord's: the case is
//!   charged, and nothing more is tried in this tick;
//! - the n-th failure waits `retry_base × 2^(n-1)` (capped at `retry_max`) before the next
//!   try; refusals give up after `max_refusals` failures, transient failures after
//!   `max_failures` (a refusal after transient failures counts all of them).
//! - at most `max_failures_per_tick` failed requests in one tick, whatever the number of
//!   servers (a bot that lost Ban Members in a thousand servers still sends only that many);
//! - 404 Unknown Ban is not a failure: the ban is gone, so the case is marked lifted.

use super::{GuildId, ModAction, UserId};
use chrono::{DateTime, Duration, Utc};

/// Why Discord did not lift a ban.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnbanFailure {
    /// 403: the bot may not ban or unban in that server (50013 Missing Permissions,
    /// 50001 Missing Access).
    MissingPermission,
    /// Another refusal (4xx) about this ban.
    Refused,
    /// 5xx, 429, a timeout or no connection: may work later.
    Transient,
}

/// What else a failure stops in the current tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halt {
    /// The failed case's server is not asked again in this tick.
    Server,
    /// Nothing more is tried in this tick.
    Tick,
}

impl UnbanFailure {
    /// Whether every due case of the server shares this failure.
    pub fn charges_server(self) -> bool {
        self == UnbanFailure::MissingPermission
    }

    pub fn halts(self) -> Halt {
        match self {
            UnbanFailure::MissingPermission | UnbanFailure::Refused => Halt::Server,
            UnbanFailure::Transient => Halt::Tick,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            UnbanFailure::MissingPermission => "I am missing the Ban Members permission",
            UnbanFailure::Refused => "Discord refused the unban",
            UnbanFailure::Transient => "Discord kept failing",
        }
    }
}

/// How a temporary ban's lifting has gone so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct LiftState {
    /// Failed attempts.
    pub failures: u32,
    /// Not tried again before this time.
    pub retry_at: Option<DateTime<Utc>>,
    /// Given up: the case is "could not lift".
    pub given_up_at: Option<DateTime<Utc>>,
}

impl LiftState {
    /// Whether an attempt may be made at `now`.
    pub fn may_try(&self, now: DateTime<Utc>) -> bool {
        self.given_up_at.is_none() && self.retry_at.is_none_or(|at| at <= now)
    }
}

/// A case carried out on Discord that the store could not write yet: held in memory and
/// written later; a temporary ban in it is lifted from here if it runs out first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCase {
    pub guild: GuildId,
    pub action: ModAction,
    pub target: UserId,
    pub moderator: UserId,
    pub reason: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when the ban was lifted before the case could be written.
    pub lifted_at: Option<DateTime<Utc>>,
    pub lift: LiftState,
}

impl PendingCase {
    /// A temporary ban due to be lifted at `now` (not lifted, not backing off).
    pub fn ban_due(&self, now: DateTime<Utc>) -> bool {
        self.action == ModAction::Ban
            && self.lifted_at.is_none()
            && self.expires_at.is_some_and(|at| at <= now)
            && self.lift.may_try(now)
    }
}

/// The retry settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiftPolicy {
    pub max_refusals: u32,
    pub max_failures: u32,
    /// Failed requests after which a tick stops.
    pub max_failures_per_tick: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl LiftPolicy {
    /// Whether a tick that already had `failed` failed requests may send another.
    pub fn may_send(&self, failed: u32) -> bool {
        failed < self.max_failures_per_tick.max(1)
    }

    /// The state after one more failure of `kind` at `now`.
    pub fn after_failure(
        &self,
        state: LiftState,
        kind: UnbanFailure,
        now: DateTime<Utc>,
    ) -> LiftState {
        let failures = state.failures.saturating_add(1);
        let limit = match kind {
            UnbanFailure::Transient => self.max_failures,
            UnbanFailure::MissingPermission | UnbanFailure::Refused => self.max_refusals,
        };
        if failures >= limit.max(1) {
            LiftState {
                failures,
                retry_at: None,
                given_up_at: Some(now),
            }
        } else {
            LiftState {
                failures,
                retry_at: Some(now + self.backoff(failures)),
                given_up_at: None,
            }
        }
    }

    /// The wait after the `failures`-th failure: doubling from `retry_base`, capped.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let wait = self
            .retry_base
            .checked_mul(1 << doublings)
            .unwrap_or(self.retry_max);
        wait.min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy() -> LiftPolicy {
        LiftPolicy {
            max_refusals: 3,
            max_failures: 6,
            max_failures_per_tick: 20,
            retry_base: Duration::minutes(1),
            retry_max: Duration::minutes(10),
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = policy();
        let waits: Vec<i64> = (1..=6).map(|n| p.backoff(n).num_minutes()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(p.backoff(u32::MAX), Duration::minutes(10));
    }

    #[test]
    fn refusals_give_up_after_max_refusals() {
        let p = policy();
        let mut now = t0();
        let mut state = LiftState::default();
        assert!(state.may_try(now));
        for n in 1..=2 {
            state = p.after_failure(state, UnbanFailure::MissingPermission, now);
            assert_eq!(state.failures, n);
            assert!(!state.may_try(now), "backs off after failure {n}");
            now = state.retry_at.expect("retry time");
            assert!(state.may_try(now));
        }
        state = p.after_failure(state, UnbanFailure::Refused, now);
        assert_eq!(state.given_up_at, Some(now));
        assert!(
            !state.may_try(now + Duration::days(365)),
            "given up for good"
        );
    }

    #[test]
    fn transient_failures_back_off_longer_before_giving_up() {
        let p = policy();
        let mut now = t0();
        let mut state = LiftState::default();
        for _ in 0..5 {
            state = p.after_failure(state, UnbanFailure::Transient, now);
            assert!(state.given_up_at.is_none());
            now = state.retry_at.expect("retry");
        }
        // 1 + 2 + 4 + 8 + 10 minutes of waiting so far.
        assert_eq!(now - t0(), Duration::minutes(25));
        state = p.after_failure(state, UnbanFailure::Transient, now);
        assert!(state.given_up_at.is_some());
    }

    #[test]
    fn a_refusal_after_transient_failures_counts_them_all() {
        let p = policy();
        let now = t0();
        let state = LiftState::default();
        let state = p.after_failure(state, UnbanFailure::Transient, now);
        let state = p.after_failure(state, UnbanFailure::Transient, now);
        let state = p.after_failure(state, UnbanFailure::MissingPermission, now);
        assert!(state.given_up_at.is_some());
    }

    #[test]
    fn what_a_failure_halts() {
        assert!(UnbanFailure::MissingPermission.charges_server());
        assert!(!UnbanFailure::Refused.charges_server());
        assert_eq!(UnbanFailure::Refused.halts(), Halt::Server);
        assert_eq!(UnbanFailure::Transient.halts(), Halt::Tick);
    }

    #[test]
    fn a_tick_stops_after_its_failure_budget() {
        let p = policy();
        assert!(p.may_send(0) && p.may_send(19));
        assert!(!p.may_send(20));
        let none = LiftPolicy {
            max_failures_per_tick: 0,
            ..p
        };
        assert!(none.may_send(0) && !none.may_send(1));
    }

    #[test]
    fn a_zero_limit_still_gives_up_after_one_failure() {
        let p = LiftPolicy {
            max_refusals: 0,
            ..policy()
        };
        let state = p.after_failure(LiftState::default(), UnbanFailure::Refused, t0());
        assert!(state.given_up_at.is_some());
    }
}
