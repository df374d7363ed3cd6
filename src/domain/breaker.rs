//! The model's circuit breaker as a pure state machine: the clock is a parameter, so every
//! transition is tested without waiting.
//!
//! Closed: calls go through; `failure_threshold` failures in a row open it. Open: calls are
//! refused (no network call) until the cool-down has passed. Half-open: exactly one trial
//! call goes through; its success closes the breaker, its failure opens it for another
//! cool-down. Any success closes it (a call that started before the breaker opened and
//! still got an answer proves the model is back).
//!
//! `ModelHealth` is what the rest of the bot sees: whether calls are refused right now, and
//! how many times the model has recovered (a new outage is one with a new `recoveries`), so
//! a channel can say its "having trouble" line once per outage.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failures in a row that open the breaker (at least 1).
    pub failure_threshold: u32,
    /// How long it stays open before one trial call.
    pub cool_down: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_running: bool },
}

/// Whether a call may go to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go ahead.
    Call,
    /// Half-open: this call is the one trial.
    Trial,
    /// Open (or a trial is already running): fail fast.
    Refused { retry_in: Duration },
}

/// The model's state as callers see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelHealth {
    /// Calls are refused right now (open, or half-open with its trial running).
    pub refusing: bool,
    /// Failures in a row so far (0 when healthy).
    pub failures: u32,
    /// The breaker opened and no call has succeeded since.
    pub in_outage: bool,
    /// Times the model came back after failing; an outage is named by this count.
    pub recoveries: u64,
}

#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    state: State,
    /// Failures in a row, across open and half-open periods (for `ModelHealth`).
    failures: u32,
    recoveries: u64,
}

impl CircuitBreaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy: BreakerPolicy {
                failure_threshold: policy.failure_threshold.max(1),
                ..policy
            },
            state: State::Closed { failures: 0 },
            failures: 0,
            recoveries: 0,
        }
    }

    /// Asks to make a call at `now`; a `Trial` admission must be followed by `succeeded` or
    /// `failed`, or the breaker stays half-open with its trial "running".
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed { .. } => Admission::Call,
            State::Open { until } if now < until => Admission::Refused {
                retry_in: until - now,
            },
            State::Open { .. }
            | State::HalfOpen {
                trial_running: false,
            } => {
                self.state = State::HalfOpen {
                    trial_running: true,
                };
                Admission::Trial
            }
            State::HalfOpen {
                trial_running: true,
            } => Admission::Refused {
                retry_in: Duration::ZERO,
            },
        }
    }

    /// The model answered.
    pub fn succeeded(&mut self) {
        if self.failures > 0 || !matches!(self.state, State::Closed { .. }) {
            self.recoveries += 1;
        }
        self.failures = 0;
        self.state = State::Closed { failures: 0 };
    }

    /// The model failed as a server does when it is down (timeout, 5xx, unreachable).
    pub fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        let open = State::Open {
            until: now + self.policy.cool_down,
        };
        self.state = match self.state {
            State::Closed { failures } if failures + 1 < self.policy.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            // A late failure of a call made before it opened does not extend the cool-down.
            State::Open { until } => State::Open { until },
            State::Closed { .. } | State::HalfOpen { .. } => open,
        };
    }

    /// The server refused in a way only its operator can fix (a wrong key, no such model, a
    /// request it refuses every time): no point in failing the same way per caller, so it
    /// opens at once, for `cool_down` (longer than an outage's: it retries slowly until
    /// the operator fixes it). An outage in progress keeps its name (`recoveries`).
    pub fn refused(&mut self, now: Instant, cool_down: Duration) {
        self.failures = self.failures.max(self.policy.failure_threshold);
        self.state = State::Open {
            until: now + cool_down,
        };
    }

    pub fn health(&self, now: Instant) -> ModelHealth {
        let refusing = match self.state {
            State::Closed { .. } => false,
            State::Open { until } => now < until,
            State::HalfOpen { trial_running } => trial_running,
        };
        ModelHealth {
            refusing,
            failures: self.failures,
            in_outage: self.failures >= self.policy.failure_threshold,
            recoveries: self.recoveries,
        }
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;

    #[test]
    fn an_operator_error_opens_at_once_for_the_long_cool_down() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(BreakerPolicy {
            failure_threshold: 3,
            cool_down: Duration::from_secs(30),
        });
        b.refused(t0, Duration::from_secs(120));
        let health = b.health(t0);
        assert!(health.refusing && health.in_outage);
        assert!(matches!(
            b.admit(t0 + Duration::from_secs(60)),
            Admission::Refused { .. }
        ));
        assert_eq!(b.admit(t0 + Duration::from_secs(121)), Admission::Trial);
        // The trial is refused again: open again for the long cool-down.
        b.refused(t0 + Duration::from_secs(121), Duration::from_secs(120));
        assert!(b.health(t0 + Duration::from_secs(200)).refusing);
        assert_eq!(b.health(t0).recoveries, 0, "still the same outage");
        b.succeeded();
        assert!(!b.health(t0 + Duration::from_secs(300)).in_outage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerPolicy {
            failure_threshold: threshold,
            cool_down: COOL,
        })
    }

    #[test]
    fn opens_after_the_threshold_of_failures_in_a_row() {
        let t0 = Instant::now();
        let mut b = breaker(3);
        for _ in 0..2 {
            assert_eq!(b.admit(t0), Admission::Call);
            b.failed(t0);
        }
        assert!(!b.health(t0).refusing);
        assert_eq!(b.admit(t0), Admission::Call);
        b.failed(t0);
        assert!(b.health(t0).refusing);
        assert_eq!(b.admit(t0), Admission::Refused { retry_in: COOL });
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            b.admit(later),
            Admission::Refused {
                retry_in: Duration::from_secs(20)
            }
        );
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        b.failed(t0);
        b.succeeded();
        b.failed(t0);
        assert_eq!(b.admit(t0), Admission::Call);
        assert_eq!(b.health(t0).recoveries, 1);
    }

    #[test]
    fn half_opens_with_one_trial_and_closes_on_its_success() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failed(t0);
        let after = t0 + COOL;
        assert!(!b.health(after).refusing, "cool-down over: a trial may go");
        assert_eq!(b.admit(after), Admission::Trial);
        assert!(b.health(after).refusing, "the trial is running");
        assert!(matches!(b.admit(after), Admission::Refused { .. }));
        b.succeeded();
        assert_eq!(b.admit(after), Admission::Call);
        assert_eq!(
            b.health(after),
            ModelHealth {
                refusing: false,
                failures: 0,
                in_outage: false,
                recoveries: 1
            }
        );
    }

    #[test]
    fn a_failed_trial_opens_it_for_another_cool_down() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failed(t0);
        let t1 = t0 + COOL;
        assert_eq!(b.admit(t1), Admission::Trial);
        b.failed(t1);
        assert_eq!(
            b.admit(t1 + COOL / 2),
            Admission::Refused { retry_in: COOL / 2 }
        );
        assert_eq!(b.admit(t1 + COOL), Admission::Trial);
        assert_eq!(b.health(t1).recoveries, 0, "still the same outage");
        assert_eq!(b.health(t1).failures, 2);
    }

    #[test]
    fn late_failures_do_not_extend_the_cool_down() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failed(t0);
        b.failed(t0 + Duration::from_secs(20));
        assert_eq!(b.admit(t0 + COOL), Admission::Trial);
    }

    #[test]
    fn a_late_success_closes_it() {
        let t0 = Instant::now();
        let mut b = breaker(1);
        b.failed(t0);
        b.succeeded();
        assert_eq!(b.admit(t0), Admission::Call);
        assert!(!b.health(t0).in_outage);
    }

    #[test]
    fn a_zero_threshold_means_one() {
        let t0 = Instant::now();
        let mut b = breaker(0);
        assert_eq!(b.admit(t0), Admission::Call);
        b.failed(t0);
        assert!(b.health(t0).refusing);
        assert!(b.health(t0).in_outage);
    }
}
