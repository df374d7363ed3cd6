//! A reply ready to send is not held by the database's write lane: with SQLite's write lock
//! held by another connection (a backup, a VACUUM), or PostgreSQL's `token_usage` locked
//! as a long transaction would (a consolidation commit), a mention is answered in its
//! normal time, and the reply's token spend lands once the database is back, exactly once.
//!
//! Alice is a member of both servers: her first mention (the other server, nothing held)
//! gives the normal latency; her second (the first server) is made while the lane is held.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, eventually, posts_to, spawn_bot};
use fakes::{Reply, ids};
use personabot::domain::spend::{ScopeSpend, SpendScope, day_of};
use personabot::domain::{GuildId, ServerMember, UserId};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, TransactionTrait,
};
use std::time::{Duration, Instant};

/// How long the database is held.
const HELD: Duration = Duration::from_secs(6);
/// The longest a mention may take to be answered while it is held: well under `HELD`.
const PROMPT: Duration = Duration::from_secs(2);

/// Who holds the write lane, and how it lets go.
enum Holder {
    /// SQLite: another connection inside `BEGIN EXCLUSIVE`.
    Sqlite(DatabaseConnection),
    /// PostgreSQL: a transaction holding `token_usage` in EXCLUSIVE mode (reads go on).
    Postgres(DatabaseTransaction, DatabaseConnection),
}

async fn hold(backend: Backend, url: &str) -> Holder {
    let other = Database::connect(url).await.expect("second connection");
    match backend {
        Backend::Sqlite => {
            other
                .execute_unprepared("BEGIN EXCLUSIVE")
                .await
                .expect("exclusive lock");
            Holder::Sqlite(other)
        }
        Backend::Postgres => {
            let txn = other.begin().await.expect("begin");
            txn.execute_unprepared("LOCK TABLE token_usage IN EXCLUSIVE MODE")
                .await
                .expect("lock token_usage");
            Holder::Postgres(txn, other)
        }
    }
}

async fn release(holder: Holder) {
    match holder {
        Holder::Sqlite(other) => {
            other.execute_unprepared("COMMIT").await.expect("release");
            let _ = other.close().await;
        }
        Holder::Postgres(txn, other) => {
            txn.commit().await.expect("release");
            let _ = other.close().await;
        }
    }
}

/// Alice mentions the bot in `channel`; returns how long until the answer was POSTed.
async fn mention_answered_in(bot: &crate::support::TestBot, channel: u64, text: &str) -> Duration {
    let before = posts_to(&bot.discord, channel).len();
    let asked = Instant::now();
    bot.discord
        .user_says(channel, ids::ALICE, &format!("<@{}> {text}", ids::BOT))
        .await;
    eventually(&format!("an answer in {channel}"), || async {
        (posts_to(&bot.discord, channel).len() > before).then(|| asked.elapsed())
    })
    .await
}

/// Alice's spend today in `guild` (`None`: nothing recorded).
async fn alice_spend(bot: &crate::support::TestBot, guild: u64) -> Option<ScopeSpend> {
    let scope = SpendScope::Member(ServerMember::new(GuildId(guild), UserId(ids::ALICE)));
    let spent = personabot::store::usage::spend_on(
        bot.app.database.reader(),
        &day_of(chrono::Utc::now()),
        &[scope],
    )
    .await
    .expect("read the spend");
    spent
        .into_iter()
        .find(|(s, _)| *s == scope)
        .map(|(_, spend)| spend)
}

async fn a_held_write_lane_does_not_hold_a_ready_reply(backend: Backend) {
    let bot = spawn_bot(backend).await;
    bot.openai.set_default(Reply::text("Right here."));

    let normal = mention_answered_in(&bot, ids::OTHER_GENERAL, "are you there?").await;
    bot.app.store.flush().await.expect("flush");
    assert_eq!(
        alice_spend(&bot, ids::OTHER_GUILD)
            .await
            .map(|s| s.usage.requests),
        Some(1),
        "the first reply's spend is recorded"
    );

    let holder = hold(backend, &bot.db.url).await;
    let held_at = Instant::now();
    let locked = mention_answered_in(&bot, ids::GENERAL, "and here?").await;
    println!(
        "{backend:?}: mention -> reply POSTed: {normal:?} normally, {locked:?} while the database is held"
    );
    assert!(
        locked < PROMPT,
        "answered in {locked:?} while the database was held (normally {normal:?})"
    );
    assert_eq!(
        posts_to(&bot.discord, ids::GENERAL)[0].content(),
        Some("Right here.")
    );
    assert_eq!(
        alice_spend(&bot, ids::GUILD).await,
        None,
        "the spend waits for the database"
    );
    tokio::time::sleep(HELD.saturating_sub(held_at.elapsed())).await;
    release(holder).await;

    // The spend lands once the database is back, once per scope.
    let landed = eventually("the held reply's spend recorded", || async {
        alice_spend(&bot, ids::GUILD).await
    })
    .await;
    assert_eq!(landed.usage.requests, 1);
    tokio::time::timeout(WAIT, bot.app.store.flush())
        .await
        .expect("the lane drains")
        .expect("flush");
    assert_eq!(
        alice_spend(&bot, ids::GUILD)
            .await
            .map(|s| s.usage.requests),
        Some(1),
        "recorded exactly once"
    );
    let (global, server) = personabot::store::usage::server_spend(
        bot.app.database.reader(),
        &day_of(chrono::Utc::now()),
        GuildId(ids::GUILD),
    )
    .await
    .expect("read the spend");
    assert_eq!(server.usage.requests, 1, "one reply in the first server");
    assert_eq!(global.usage.requests, 2, "and one in each server in all");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_held_write_lane_does_not_hold_a_ready_reply);
