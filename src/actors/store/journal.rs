//! The journal: chat messages accepted but not yet committed, in arrival order, and
//! deletions not yet applied.
//!
//! It lives outside the StoreActor (the app owns it and hands it to every incarnation), so a
//! panicking actor loses nothing it had accepted. Messages leave it only once committed, so a
//! reader that merges it with the database never misses one: that is how a reply reads its
//! transcript without waiting for the write of the message that triggered it.
//!
//! A deletion takes effect here at once: the message leaves the queue if it is still there
//! (it is never written), the id is remembered ([`Tombstones`]) so a create or backfilled copy
//! arriving later is not logged, and the id waits for the write lane to delete it from the
//! database, the same way appends wait (so a StoreActor restart loses no deletion either).

use super::tombstones::Tombstones;
use crate::domain::{ChannelId, LoggedMessage, MessageId};
use chrono::{DateTime, Utc};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::Notify;

/// Messages held before new ones wait for room (backpressure: a caller of
/// [`Journal::wait_for_room`] waits until the write lane has written some; nothing is
/// dropped). Deletions beyond it are dropped oldest first (and logged): a deletion is a
/// small id, and holding 50,000 of them means the database has been gone for a long time.
pub const MAX_PENDING: usize = 50_000;

pub struct Journal {
    pending: Mutex<Pending>,
    arrived: Notify,
    /// Signalled whenever messages leave the queue.
    room: Notify,
    capacity: usize,
    /// Token spend cast to the write lane and not yet written (added to spend reads).
    pub spend: super::unwritten_spend::UnwrittenSpend,
}

impl Default for Journal {
    fn default() -> Self {
        Self::with_capacity(MAX_PENDING)
    }
}

#[derive(Default)]
struct Pending {
    messages: VecDeque<LoggedMessage>,
    /// Deleted ids not yet removed from the database, oldest first.
    deletions: VecDeque<MessageId>,
    deleted: Tombstones,
}

impl Journal {
    /// A journal that makes writers wait beyond `capacity` messages.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            pending: Mutex::default(),
            arrived: Notify::new(),
            room: Notify::new(),
            capacity: capacity.max(1),
            spend: Default::default(),
        }
    }

    /// Waits while the journal is full (the database is down or slower than chat), so the
    /// side that produces messages slows down instead of memory growing or messages being
    /// dropped.
    pub async fn wait_for_room(&self) {
        let mut warned = false;
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() < self.capacity {
                return;
            }
            if !warned {
                warned = true;
                tracing::warn!(
                    capacity = self.capacity,
                    "message journal full; waiting for the database to catch up"
                );
            }
            notified.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while holding this lock cannot leave the queues half-changed (every change
        // is one push, drain or retain), so a poisoned lock is still safe to use.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Accepts a message for writing, unless it was deleted already (a delete that overtook
    /// its create, or a backfilled copy of a deleted message).
    ///
    /// Never drops: callers that must not outrun the database wait with
    /// [`Journal::wait_for_room`] first.
    pub fn push(&self, message: LoggedMessage) {
        {
            let mut pending = self.lock();
            if pending.deleted.contains(message.id, Instant::now()) {
                tracing::debug!(id = %message.id, "not logging a message already deleted");
                return;
            }
            pending.messages.push_back(message);
        }
        self.arrived.notify_one();
    }

    /// Forgets deleted messages: out of the queue now, out of the database once the lane
    /// gets to them, and never logged again if they arrive later.
    pub fn delete(&self, ids: &[MessageId]) {
        if ids.is_empty() {
            return;
        }
        let dropped = {
            let mut pending = self.lock();
            let now = Instant::now();
            for &id in ids {
                pending.deleted.insert(id, now);
            }
            let gone: HashSet<MessageId> = ids.iter().copied().collect();
            pending.messages.retain(|m| !gone.contains(&m.id));
            pending.deletions.extend(ids.iter().copied());
            let over = pending.deletions.len().saturating_sub(MAX_PENDING);
            pending.deletions.drain(..over);
            over
        };
        if dropped > 0 {
            tracing::error!(
                dropped,
                "database unavailable for too long; dropping the oldest buffered deletions"
            );
        }
        self.arrived.notify_one();
    }

    /// Whether `id` was deleted recently (see [`Tombstones`]).
    pub fn was_deleted(&self, id: MessageId) -> bool {
        self.lock().deleted.contains(id, Instant::now())
    }

    /// Messages waiting to be written.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    /// Deletions waiting to be applied.
    pub fn deletions_len(&self) -> usize {
        self.lock().deletions.len()
    }

    /// Nothing waiting: no message to write, no deletion to apply.
    pub fn is_empty(&self) -> bool {
        let pending = self.lock();
        pending.messages.is_empty() && pending.deletions.is_empty()
    }

    /// Resolves once a message or deletion has arrived since the last call.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// The oldest `max` messages, left in place until [`Journal::remove`] confirms them.
    pub fn oldest(&self, max: usize) -> Vec<LoggedMessage> {
        self.lock().messages.iter().take(max).cloned().collect()
    }

    /// Drops messages that were committed (or refused for good).
    pub fn remove(&self, ids: &[MessageId]) {
        let ids: HashSet<MessageId> = ids.iter().copied().collect();
        self.lock().messages.retain(|m| !ids.contains(&m.id));
        self.room.notify_waiters();
    }

    /// Drops every uncommitted message by `author` (they erased their data); returns how
    /// many.
    pub fn forget_author(&self, author: crate::domain::UserId) -> usize {
        let mut pending = self.lock();
        let before = pending.messages.len();
        pending.messages.retain(|m| m.author_id != author);
        let forgotten = before - pending.messages.len();
        drop(pending);
        self.room.notify_waiters();
        forgotten
    }

    /// The oldest `max` deletions, left in place until [`Journal::deletions_applied`].
    pub fn oldest_deletions(&self, max: usize) -> Vec<MessageId> {
        self.lock().deletions.iter().take(max).copied().collect()
    }

    /// Drops deletions that were applied to the database.
    pub fn deletions_applied(&self, ids: &[MessageId]) {
        let ids: HashSet<MessageId> = ids.iter().copied().collect();
        self.lock().deletions.retain(|id| !ids.contains(id));
    }

    /// The channel's uncommitted messages at or after `since`, and every deletion not yet
    /// applied (a read of the database may still return those messages).
    pub fn of_channel(&self, channel: ChannelId, since: DateTime<Utc>) -> Unwritten {
        let pending = self.lock();
        Unwritten {
            messages: pending
                .messages
                .iter()
                .filter(|m| m.channel_id == channel && m.created_at >= since)
                .cloned()
                .collect(),
            deleted: pending.deletions.iter().copied().collect(),
        }
    }
}

/// What the journal knows that the database may not yet: a snapshot for one channel's read.
#[derive(Clone, Debug, Default)]
pub struct Unwritten {
    pub messages: Vec<LoggedMessage>,
    pub deleted: HashSet<MessageId>,
}

/// Adds uncommitted messages to a transcript read from the database and drops deleted ones:
/// no duplicates (a message may be committed between the snapshot and the read), oldest
/// first, at most `max` of the newest.
pub fn merge_transcript(
    mut stored: Vec<LoggedMessage>,
    unwritten: Unwritten,
    max: u64,
) -> Vec<LoggedMessage> {
    let Unwritten { messages, deleted } = unwritten;
    stored.retain(|m| !deleted.contains(&m.id));
    if messages.is_empty() {
        return stored;
    }
    let known: HashSet<MessageId> = stored.iter().map(|m| m.id).collect();
    stored.extend(messages.into_iter().filter(|m| !known.contains(&m.id)));
    stored.sort_by_key(|m| (m.created_at, m.id));
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let excess = stored.len().saturating_sub(max);
    stored.drain(..excess);
    stored
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_full_journal_makes_writers_wait_instead_of_dropping() {
        let journal = std::sync::Arc::new(super::Journal::with_capacity(2));
        journal.push(msg(1, 1, 0));
        journal.push(msg(2, 1, 1));
        let writer = {
            let journal = journal.clone();
            tokio::spawn(async move {
                journal.wait_for_room().await;
                journal.push(msg(3, 1, 2));
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!writer.is_finished(), "waits while full");
        assert_eq!(journal.len(), 2);
        journal.remove(&[crate::domain::MessageId(1)]);
        tokio::time::timeout(std::time::Duration::from_secs(2), writer)
            .await
            .expect("room made")
            .expect("writer");
        assert_eq!(
            journal
                .oldest(10)
                .iter()
                .map(|m| m.id.0)
                .collect::<Vec<_>>(),
            [2, 3]
        );
    }

    use super::*;
    use crate::domain::UserId;

    fn msg(id: u64, channel: u64, secs: i64) -> LoggedMessage {
        LoggedMessage {
            id: MessageId(id),
            channel_id: ChannelId(channel),
            guild_id: None,
            author_id: UserId(1),
            author_name: "a".into(),
            is_bot: false,
            content: format!("m{id}"),
            reply_to: None,
            created_at: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn merge_dedupes_sorts_and_keeps_the_newest() {
        let stored = vec![msg(1, 9, 10), msg(2, 9, 20)];
        let pending = Unwritten {
            messages: vec![msg(2, 9, 20), msg(3, 9, 30)],
            deleted: HashSet::new(),
        };
        let merged = merge_transcript(stored, pending, 2);
        let ids: Vec<u64> = merged.iter().map(|m| m.id.0).collect();
        assert_eq!(ids, vec![2, 3]);
    }

    #[test]
    fn journal_keeps_messages_until_removed_and_filters_by_channel() {
        let journal = Journal::default();
        journal.push(msg(1, 9, 10));
        journal.push(msg(2, 8, 10));
        assert_eq!(journal.oldest(10).len(), 2);
        assert_eq!(
            journal
                .of_channel(ChannelId(9), DateTime::UNIX_EPOCH)
                .messages
                .len(),
            1
        );
        journal.remove(&[MessageId(1)]);
        assert_eq!(journal.len(), 1);
        assert!(
            journal
                .of_channel(ChannelId(9), DateTime::UNIX_EPOCH)
                .messages
                .is_empty()
        );
    }

    #[test]
    fn a_deleted_message_still_buffered_is_never_written() {
        let journal = Journal::default();
        journal.push(msg(1, 9, 10));
        journal.push(msg(2, 9, 10));
        journal.delete(&[MessageId(1)]);
        let ids: Vec<u64> = journal.oldest(10).iter().map(|m| m.id.0).collect();
        assert_eq!(ids, vec![2]);
        assert_eq!(journal.oldest_deletions(10), vec![MessageId(1)]);
        journal.deletions_applied(&[MessageId(1)]);
        assert_eq!(journal.deletions_len(), 0);
    }

    #[test]
    fn a_delete_before_its_create_keeps_the_message_out() {
        let journal = Journal::default();
        journal.delete(&[MessageId(5), MessageId(6)]);
        journal.push(msg(5, 9, 10));
        journal.push(msg(7, 9, 10));
        let ids: Vec<u64> = journal.oldest(10).iter().map(|m| m.id.0).collect();
        assert_eq!(ids, vec![7]);
        assert!(journal.was_deleted(MessageId(6)));
        assert!(!journal.was_deleted(MessageId(7)));
    }

    #[test]
    fn merge_drops_messages_deleted_but_still_in_the_database() {
        let stored = vec![msg(1, 9, 10), msg(2, 9, 20)];
        let unwritten = Unwritten {
            messages: vec![msg(3, 9, 30)],
            deleted: [MessageId(2)].into_iter().collect(),
        };
        let ids: Vec<u64> = merge_transcript(stored, unwritten, 10)
            .iter()
            .map(|m| m.id.0)
            .collect();
        assert_eq!(ids, vec![1, 3]);
    }
}
