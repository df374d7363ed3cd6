//! A channel's waiting replies, kept short: a few at most, none answered late, one per
//! member, and the "having trouble" line said once per outage.
//!
//! The channel actor holds the queue; these are the rules it applies, with the clock as a
//! parameter.

use super::breaker::ModelHealth;
use super::ids::UserId;
use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BacklogPolicy {
    /// Replies waiting behind the running one (at least 1).
    pub max_pending: usize,
    /// A mention older than this when its reply would start is not answered.
    pub max_age: Duration,
}

/// Where a new mention goes in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The member already waits at this position: answer them once, for their latest
    /// message (the earlier ones are in the transcript).
    Merge(usize),
    /// At the end; `evict_oldest` when the queue is full (the oldest would be answered
    /// latest of all, so it is the one to give up).
    Append { evict_oldest: bool },
}

impl BacklogPolicy {
    /// Whether a message sent at `sent_at` (Discord's timestamp) is too old to answer `now`.
    pub fn is_stale(&self, sent_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - sent_at > self.max_age
    }

    /// Where a new job goes, given who waits in the queue: `author` is the member it
    /// answers, `None` for jobs that are never merged (a proactive message, a notice).
    pub fn place(&self, waiting: &[Option<UserId>], author: Option<UserId>) -> Placement {
        if let Some(at) = author.and_then(|a| waiting.iter().position(|w| *w == Some(a))) {
            return Placement::Merge(at);
        }
        Placement::Append {
            evict_oldest: waiting.len() >= self.max_pending.max(1),
        }
    }
}

/// Whether a channel whose reply just failed says the "having trouble" line: once per
/// outage, an outage being the failures in a row since the model last answered (before and
/// after the breaker opens alike). A failure that is not the model being down (an unusable
/// answer) always gets it. `told_at` is the `recoveries` count when this channel last said it.
pub fn should_apologise(health: ModelHealth, told_at: Option<u64>) -> bool {
    health.failures == 0 || told_at != Some(health.recoveries)
}

/// Whether a mention is worth queueing at all: not while the model refuses calls and this
/// channel has already said its line for this outage (the reply would only fail fast).
pub fn worth_queueing(health: ModelHealth, told_at: Option<u64>) -> bool {
    !health.refusing || told_at != Some(health.recoveries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BacklogPolicy {
        BacklogPolicy {
            max_pending: 3,
            max_age: Duration::seconds(120),
        }
    }

    #[test]
    fn old_mentions_are_stale() {
        let now = Utc::now();
        assert!(!policy().is_stale(now - Duration::seconds(120), now));
        assert!(policy().is_stale(now - Duration::seconds(121), now));
        assert!(
            !policy().is_stale(now + Duration::seconds(1), now),
            "clock skew"
        );
    }

    #[test]
    fn one_member_waits_once_and_the_queue_stays_short() {
        let (a, b, c, d) = (UserId(1), UserId(2), UserId(3), UserId(4));
        let p = policy();
        assert_eq!(
            p.place(&[], Some(a)),
            Placement::Append {
                evict_oldest: false
            }
        );
        assert_eq!(
            p.place(&[Some(a), None], Some(b)),
            Placement::Append {
                evict_oldest: false
            }
        );
        assert_eq!(p.place(&[Some(a), Some(b)], Some(b)), Placement::Merge(1));
        assert_eq!(
            p.place(&[Some(a), Some(b), Some(c)], Some(d)),
            Placement::Append { evict_oldest: true }
        );
        assert_eq!(
            p.place(&[Some(a), Some(b), Some(c)], Some(a)),
            Placement::Merge(0)
        );
        assert_eq!(
            p.place(&[None], None),
            Placement::Append {
                evict_oldest: false
            }
        );
    }

    #[test]
    fn the_trouble_line_is_said_once_per_outage() {
        let unusable_answer = ModelHealth {
            refusing: false,
            failures: 0,
            in_outage: false,
            recoveries: 4,
        };
        assert!(should_apologise(unusable_answer, Some(4)), "not an outage");
        let sporadic = ModelHealth {
            refusing: false,
            failures: 1,
            in_outage: false,
            recoveries: 4,
        };
        assert!(
            should_apologise(sporadic, Some(3)),
            "first failure since it answered"
        );
        assert!(
            !should_apologise(sporadic, Some(4)),
            "already said since the model last answered, breaker still closed"
        );
        let outage = ModelHealth {
            refusing: true,
            failures: 3,
            in_outage: true,
            recoveries: 4,
        };
        assert!(should_apologise(outage, None));
        assert!(
            should_apologise(outage, Some(3)),
            "told in an earlier outage"
        );
        assert!(!should_apologise(outage, Some(4)));
        assert!(worth_queueing(outage, Some(3)));
        assert!(!worth_queueing(outage, Some(4)));
        assert!(worth_queueing(sporadic, Some(4)));
    }
}
