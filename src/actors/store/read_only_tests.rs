//! A request marked as a read must not write: every read-kind entry of the port tables
//! (`Concurrent`, `MergesJournal`, `AfterPendingWrites`) runs with sample arguments on a
//! SQLite connection with `PRAGMA query_only`, where any write fails with SQLITE_READONLY.
//! Marking a writing entry as a read (try `AcquireLease` as `Concurrent`) fails this test.

use super::journal::Journal;
use super::requests::{Access, Ctx, StoreMsg};
use crate::domain::spend::SpendScope;
use crate::domain::{ChannelId, ChannelPolicy, GuildId, ServerMember, StateScope, UserId};
use crate::store::{Store, StoreError, StoreOptions, leases};
use chrono::{DateTime, Utc};

/// A value to call an operation with; `Option` and `Vec` hold one, so a write behind them
/// would really be attempted.
pub trait Sample {
    fn sample() -> Self;
}

impl<T: Sample> Sample for Option<T> {
    fn sample() -> Self {
        Some(T::sample())
    }
}

impl<T: Sample> Sample for Vec<T> {
    fn sample() -> Self {
        vec![T::sample()]
    }
}

macro_rules! samples {
    ($($ty:ty => $value:expr;)*) => {
        $(impl Sample for $ty {
            fn sample() -> Self {
                $value
            }
        })*
    };
}

samples! {
    String => "probe".to_owned();
    u64 => 10;
    i64 => 1;
    bool => true;
    DateTime<Utc> => Utc::now();
    GuildId => GuildId(1);
    ChannelId => ChannelId(2);
    UserId => UserId(3);
    ServerMember => ServerMember::new(GuildId(1), UserId(3));
    StateScope => StateScope::Server(GuildId(1));
    ChannelPolicy => ChannelPolicy::default();
    SpendScope => SpendScope::Server(GuildId(1));
}

async fn stores() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bot.sqlite").display()
    );
    // Creates the file and its schema; the read-only store then opens it.
    Store::connect(&url, StoreOptions::default())
        .await
        .expect("the database")
        .close()
        .await
        .expect("closed");
    let read_only = crate::store::read_only_sqlite(&url)
        .await
        .expect("a read-only connection");
    (dir, read_only)
}

fn refused_write(result: &Result<(), StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::Rejected(_) | StoreError::Unavailable(_))
    )
}

#[tokio::test]
async fn the_read_only_connection_refuses_a_write() {
    let (_dir, store) = stores().await;
    let now = Utc::now();
    let written = leases::acquire(store.writer(), "probe", "me", now, now).await;
    assert!(refused_write(&written.map(drop)), "a write went through");
}

#[tokio::test]
async fn no_request_marked_as_a_read_writes() {
    let (_dir, store) = stores().await;
    let journal = Journal::with_capacity(16);
    let found = StoreMsg::probe_reads(Ctx::new(&store, &journal, Access::Concurrent)).await;
    assert!(found.len() >= 30, "only {} reads probed", found.len());
    let refused: Vec<String> = found
        .iter()
        .filter(|(_, result)| refused_write(result))
        .map(|(op, result)| format!("{op}: {result:?}"))
        .collect();
    assert!(
        refused.is_empty(),
        "reads that wrote or failed:\n{}",
        refused.join("\n")
    );
}
