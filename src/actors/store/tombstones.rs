//! Recently deleted message ids, so a deletion that arrives before its message is not undone.
//!
//! The gateway does not promise order across events, and the restart backfill reads pages of
//! history that may include a message deleted while the page was in flight: either way the
//! MESSAGE_CREATE (or the backfilled copy) can come after the MESSAGE_DELETE. A tombstone makes
//! the later append a no-op. Both ways a message can come back are short-lived, so tombstones
//! are kept for [`TOMBSTONE_TTL`] and at most [`MAX_TOMBSTONES`] of them (oldest go first):
//! memory stays bounded whatever the deletion rate.

use crate::domain::MessageId;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

/// How long a deleted id is remembered: longer than any gateway reordering, and than a
/// restart backfill takes to reach the message.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(30 * 60);
/// Deleted ids remembered at most (a bulk delete is at most 100 messages).
pub const MAX_TOMBSTONES: usize = 20_000;

#[derive(Default)]
pub struct Tombstones {
    ids: HashSet<MessageId>,
    /// Insertion order, for expiry and for the size bound.
    order: VecDeque<(Instant, MessageId)>,
}

impl Tombstones {
    /// Remembers `id` as deleted at `now`.
    pub fn insert(&mut self, id: MessageId, now: Instant) {
        self.expire(now);
        if !self.ids.insert(id) {
            return;
        }
        self.order.push_back((now, id));
        while self.order.len() > MAX_TOMBSTONES {
            if let Some((_, old)) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }

    /// Whether `id` was deleted within the last [`TOMBSTONE_TTL`].
    pub fn contains(&mut self, id: MessageId, now: Instant) -> bool {
        self.expire(now);
        self.ids.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.order.front() {
            if now.saturating_duration_since(at) < TOMBSTONE_TTL {
                break;
            }
            self.order.pop_front();
            self.ids.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_deleted_id_until_it_expires() {
        let start = Instant::now();
        let mut tombstones = Tombstones::default();
        tombstones.insert(MessageId(7), start);
        assert!(tombstones.contains(MessageId(7), start + Duration::from_secs(60)));
        assert!(!tombstones.contains(MessageId(8), start));
        assert!(!tombstones.contains(MessageId(7), start + TOMBSTONE_TTL));
        assert!(tombstones.is_empty());
    }

    #[test]
    fn keeps_at_most_the_newest_ids() {
        let now = Instant::now();
        let mut tombstones = Tombstones::default();
        let total = u64::try_from(MAX_TOMBSTONES).unwrap_or(u64::MAX) + 5;
        for id in 0..total {
            tombstones.insert(MessageId(id), now);
        }
        assert_eq!(tombstones.len(), MAX_TOMBSTONES);
        assert!(!tombstones.contains(MessageId(0), now), "oldest evicted");
        assert!(tombstones.contains(MessageId(total - 1), now));
    }

    #[test]
    fn a_repeated_deletion_is_remembered_once() {
        let now = Instant::now();
        let mut tombstones = Tombstones::default();
        tombstones.insert(MessageId(1), now);
        tombstones.insert(MessageId(1), now);
        assert_eq!(tombstones.len(), 1);
    }
}
