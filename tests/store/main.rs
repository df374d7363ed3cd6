//! Round trips through the real store, each on a fresh SQLite file and a fresh PostgreSQL
//! database (`both_backends!`), plus SQLite-only checks of the connection setup.
//!
//! One file per store area, as in `src/store/`; the helpers below are shared by all of them.

#[path = "../common/mod.rs"]
mod common;

mod connection;
mod console;
mod consolidation;
mod export;
mod facts;
mod global_state;
mod leases;
mod messages;
mod modlog;
mod persona;
mod proactive;
mod relationships;
mod settings;
mod tenancy_migration;
mod tickets;
mod usage;
mod users;

use chrono::{DateTime, Duration, TimeZone, Utc};
use personabot::domain::{ChannelId, GuildId, LoggedMessage, MessageId, NewFact, UserId};
use personabot::store::Store;
use sea_orm::{ConnectionTrait, Statement};

fn t0() -> DateTime<Utc> {
    // Sub-microsecond digits on purpose: the store must round-trip what it returns.
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid date")
        + Duration::nanoseconds(123_456_789)
}

fn msg(id: u64, channel: u64, author: u64, at: DateTime<Utc>, content: &str) -> LoggedMessage {
    LoggedMessage {
        id: MessageId(id),
        channel_id: ChannelId(channel),
        guild_id: Some(GuildId(1)),
        author_id: UserId(author),
        author_name: format!("user{author}"),
        is_bot: false,
        content: content.to_owned(),
        reply_to: None,
        created_at: at,
    }
}

/// A member of the test server (guild 1) that `msg` writes in.
fn member(user: u64) -> personabot::domain::ServerMember {
    personabot::domain::ServerMember::new(GuildId(1), UserId(user))
}

fn fact(user: u64, text: &str) -> NewFact {
    NewFact {
        guild_id: GuildId(1),
        user_id: UserId(user),
        fact: text.to_owned(),
        category: "general".to_owned(),
        embedding: None,
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    let backend = store.writer().get_database_backend();
    let row = store
        .reader()
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("count query")
        .expect("one row");
    row.try_get_by_index::<i64>(0).expect("a count")
}
