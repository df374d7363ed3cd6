//! The journal: chat messages accepted but not yet committed, in arrival order.
//!
//! It lives outside the StoreActor (the app owns it and hands it to every incarnation), so a
//! panicking actor loses nothing it had accepted. Messages leave it only once committed, so a
//! reader that merges it with the database never misses one: that is how a reply reads its
//! transcript without waiting for the write of the message that triggered it.

use crate::domain::{ChannelId, LoggedMessage, MessageId};
use chrono::{DateTime, Utc};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use tokio::sync::Notify;

/// Messages held at most while the database is unreachable; beyond it the oldest go (and
/// the loss is logged as an error).
pub const MAX_PENDING: usize = 50_000;

#[derive(Default)]
pub struct Journal {
    pending: Mutex<VecDeque<LoggedMessage>>,
    arrived: Notify,
}

impl Journal {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<LoggedMessage>> {
        // A panic while holding this lock cannot leave the queue half-changed (every change
        // is one push or drain), so a poisoned lock is still safe to use.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn push(&self, message: LoggedMessage) {
        let dropped = {
            let mut pending = self.lock();
            pending.push_back(message);
            let over = pending.len().saturating_sub(MAX_PENDING);
            pending.drain(..over);
            over
        };
        if dropped > 0 {
            tracing::error!(
                dropped,
                "database unavailable for too long; dropping the oldest buffered messages"
            );
        }
        self.arrived.notify_one();
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Resolves once a message has arrived since the last call.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// The oldest `max` messages, left in place until [`Journal::remove`] confirms them.
    pub fn oldest(&self, max: usize) -> Vec<LoggedMessage> {
        self.lock().iter().take(max).cloned().collect()
    }

    /// Drops messages that were committed (or refused for good).
    pub fn remove(&self, ids: &[MessageId]) {
        let ids: HashSet<MessageId> = ids.iter().copied().collect();
        self.lock().retain(|m| !ids.contains(&m.id));
    }

    /// Drops every uncommitted message by `author` (they erased their data); returns how
    /// many.
    pub fn forget_author(&self, author: crate::domain::UserId) -> usize {
        let mut pending = self.lock();
        let before = pending.len();
        pending.retain(|m| m.author_id != author);
        before - pending.len()
    }

    /// The channel's uncommitted messages at or after `since`.
    pub fn of_channel(&self, channel: ChannelId, since: DateTime<Utc>) -> Vec<LoggedMessage> {
        self.lock()
            .iter()
            .filter(|m| m.channel_id == channel && m.created_at >= since)
            .cloned()
            .collect()
    }
}

/// Adds uncommitted messages to a transcript read from the database: no duplicates (a
/// message may be committed between the snapshot and the read), oldest first, at most `max`
/// of the newest.
pub fn merge_transcript(
    mut stored: Vec<LoggedMessage>,
    pending: Vec<LoggedMessage>,
    max: u64,
) -> Vec<LoggedMessage> {
    if pending.is_empty() {
        return stored;
    }
    let known: HashSet<MessageId> = stored.iter().map(|m| m.id).collect();
    stored.extend(pending.into_iter().filter(|m| !known.contains(&m.id)));
    stored.sort_by_key(|m| (m.created_at, m.id));
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let excess = stored.len().saturating_sub(max);
    stored.drain(..excess);
    stored
}

#[cfg(test)]
mod tests {
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
        let pending = vec![msg(2, 9, 20), msg(3, 9, 30)];
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
            journal.of_channel(ChannelId(9), DateTime::UNIX_EPOCH).len(),
            1
        );
        journal.remove(&[MessageId(1)]);
        assert_eq!(journal.len(), 1);
        assert!(
            journal
                .of_channel(ChannelId(9), DateTime::UNIX_EPOCH)
                .is_empty()
        );
    }
}
