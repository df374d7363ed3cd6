//! Token spend recorded (cast to the write lane) but not yet in the database. A reply's
//! spend is never awaited, so the next reply's read of today's spend could run before the
//! write lands (or while a locked database holds it); reads add what is still unwritten,
//! as transcript reads add the journal's unwritten messages, so a budget holds as tightly
//! as when the write was awaited.
//!
//! Snapshotted before the database read: an entry written in between is counted twice for
//! that one read (a budget refuses a moment early), never missed.

use super::Ctx;
use crate::domain::budget::TokenUsage;
use crate::domain::spend::{ScopeSpend, SpendScope};
use crate::ports::store::StoreResult;
use crate::store::usage;
use std::sync::Mutex;

/// The write lane's part: writes one call's usage (a `Cast` entry: retried while the
/// database is unavailable), then drops its entry, written or refused for good.
pub async fn write(
    cx: Ctx<'_>,
    ticket: u64,
    day: &str,
    scopes: &[SpendScope],
    usage: TokenUsage,
) -> StoreResult<()> {
    let written = usage::add_spend(cx.db, day, scopes, usage, cx.now).await;
    if !written.as_ref().is_err_and(|e| e.is_transient()) {
        cx.journal.spend.written(ticket);
    }
    written
}

#[derive(Default)]
pub struct UnwrittenSpend {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    next: u64,
    entries: Vec<Entry>,
}

struct Entry {
    ticket: u64,
    day: String,
    scopes: Vec<SpendScope>,
    usage: TokenUsage,
}

impl UnwrittenSpend {
    /// Holds one call's usage until [`written`](Self::written) is told its ticket.
    pub fn add(&self, day: &str, scopes: &[SpendScope], usage: TokenUsage) -> u64 {
        let mut pending = self.lock();
        pending.next += 1;
        let ticket = pending.next;
        pending.entries.push(Entry {
            ticket,
            day: day.to_owned(),
            scopes: scopes.to_vec(),
            usage,
        });
        ticket
    }

    /// The write landed (or was refused for good): reads no longer add it.
    pub fn written(&self, ticket: u64) {
        self.lock().entries.retain(|e| e.ticket != ticket);
    }

    /// The unwritten usage of `day` for each of `scopes` that has some.
    pub fn of(&self, day: &str, scopes: &[SpendScope]) -> Vec<(SpendScope, TokenUsage)> {
        let pending = self.lock();
        let mut found: Vec<(SpendScope, TokenUsage)> = Vec::new();
        for entry in pending.entries.iter().filter(|e| e.day == day) {
            for scope in entry.scopes.iter().filter(|s| scopes.contains(s)) {
                match found.iter_mut().find(|(s, _)| s == scope) {
                    Some((_, usage)) => usage.add(entry.usage),
                    None => found.push((*scope, entry.usage)),
                }
            }
        }
        found
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while holding this lock leaves plain data behind; keep using it.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Adds unwritten usage (from [`UnwrittenSpend::of`]) to spend read from the database.
pub fn merge(
    mut stored: Vec<(SpendScope, ScopeSpend)>,
    unwritten: Vec<(SpendScope, TokenUsage)>,
) -> Vec<(SpendScope, ScopeSpend)> {
    for (scope, usage) in unwritten {
        match stored.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, spend)) => spend.usage.add(usage),
            None => stored.push((
                scope,
                ScopeSpend {
                    usage,
                    noticed: false,
                },
            )),
        }
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{GuildId, ServerMember, UserId};

    fn usage(prompt: u64) -> TokenUsage {
        TokenUsage {
            prompt,
            completion: 1,
            cached: 0,
            requests: 1,
        }
    }

    #[test]
    fn reads_see_unwritten_spend_until_it_is_written() {
        let alice = SpendScope::Member(ServerMember::new(GuildId(2000), UserId(3000)));
        let other = SpendScope::Member(ServerMember::new(GuildId(2001), UserId(3000)));
        let spend = UnwrittenSpend::default();
        let first = spend.add("2026-12-07", &[SpendScope::Global, alice], usage(10));
        spend.add("2026-12-06", &[SpendScope::Global], usage(1_000));
        let stored = vec![(
            SpendScope::Global,
            ScopeSpend {
                usage: usage(5),
                noticed: true,
            },
        )];
        let read = merge(
            stored.clone(),
            spend.of("2026-12-07", &[SpendScope::Global, alice, other]),
        );
        assert_eq!(read.len(), 2, "the other server's scope spent nothing");
        assert_eq!(read[0].1.tokens(), 5 + 1 + 10 + 1);
        assert!(read[0].1.noticed);
        assert_eq!(
            read[1],
            (
                alice,
                ScopeSpend {
                    usage: usage(10),
                    noticed: false
                }
            )
        );
        spend.written(first);
        assert_eq!(
            merge(stored.clone(), spend.of("2026-12-07", &[alice])),
            stored
        );
    }
}
