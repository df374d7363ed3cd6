//! The database's worst moments while people chat: SQLite held under an exclusive lock (a
//! backup, a VACUUM) for 20 seconds, and every PostgreSQL connection of the bot terminated
//! mid-chat. Every message must be stored once the database is back; none may be dropped.

use crate::common::db::Backend;
use crate::support::{eventually, logged, spawn_bot_with};
use fakes::{Reply, ids};
use sea_orm::{ConnectionTrait, Database};
use std::time::Duration;

/// Messages said while the database is unavailable (half in each server).
const MESSAGES: usize = 40;

async fn say(bot: &crate::support::TestBot, from: usize, to: usize) {
    for i in from..to {
        let channel = if i % 2 == 0 {
            ids::GENERAL
        } else {
            ids::OTHER_GENERAL
        };
        bot.discord
            .user_says(channel, ids::ALICE, &format!("fault test message {i}"))
            .await;
    }
}

/// Waits until every numbered message is in the database (not just the journal).
async fn all_stored(bot: &crate::support::TestBot, count: usize) {
    eventually("every message stored", || async {
        let mut seen = 0;
        for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
            seen += logged(bot, channel)
                .await
                .iter()
                .filter(|m| m.content.starts_with("fault test message"))
                .count();
        }
        (seen == count).then_some(())
    })
    .await;
}

#[tokio::test]
async fn sqlite_locked_for_20_seconds_loses_nothing() {
    let bot = spawn_bot_with(Backend::Sqlite, &[]).await;
    bot.openai.set_default(Reply::text("ok"));
    // Another process (a backup tool, say) takes the write lock and holds it.
    let other = Database::connect(bot.db.url.as_str())
        .await
        .expect("second connection");
    other
        .execute_unprepared("BEGIN EXCLUSIVE")
        .await
        .expect("exclusive lock");
    say(&bot, 0, MESSAGES).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    other.execute_unprepared("COMMIT").await.expect("release");
    all_stored(&bot, MESSAGES).await;
    let _ = other.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn postgres_connections_terminated_mid_chat_lose_nothing() {
    let bot = spawn_bot_with(Backend::Postgres, &[]).await;
    bot.openai.set_default(Reply::text("ok"));
    say(&bot, 0, MESSAGES / 2).await;
    // An operator (or a failover) ends every connection the bot holds.
    let admin = Database::connect(crate::common::db::pg_admin_url().as_str())
        .await
        .expect("admin connection");
    let database = bot.db.url.rsplit('/').next().unwrap_or_default().to_owned();
    let terminated = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!(
                "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
                 WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            ),
        ))
        .await
        .expect("terminate");
    assert!(!terminated.is_empty(), "the bot's connections were ended");
    say(&bot, MESSAGES / 2, MESSAGES).await;
    all_stored(&bot, MESSAGES).await;
    let _ = admin.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
