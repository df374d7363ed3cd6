//! Archive retention applied by the nightly run.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, spawn_bot_with};
use chrono::{Duration, Utc};
use entity::archived_messages;
use fakes::ids;
use personabot::domain::{ChannelId, GuildId, UserId};
use sea_orm::EntityTrait;

/// With a retention period set, the nightly run deletes archived chat older than it and
/// keeps the rest (and every fact).
async fn archive_retention_is_applied(backend: Backend) {
    let bot = spawn_bot_with(
        backend,
        &[("PERSONABOT__MEMORY__ARCHIVE_RETENTION_DAYS", "30")],
    )
    .await;
    let db = &bot.app.database;
    let now = Utc::now();
    let message = |id: u64, age_days: i64| personabot::domain::LoggedMessage {
        id: personabot::domain::MessageId(id),
        channel_id: ChannelId(ids::GENERAL),
        guild_id: Some(GuildId(ids::GUILD)),
        author_id: UserId(ids::BOT),
        author_name: "testbot".into(),
        is_bot: true,
        content: format!("said {age_days} days ago"),
        reply_to: None,
        created_at: now - Duration::days(age_days),
    };
    personabot::store::messages::append_messages(db.writer(), &[message(1, 40), message(2, 10)])
        .await
        .expect("seed");
    let report = bot
        .app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("consolidator")
        .expect("run");
    assert_eq!(report.messages_archived, 2);
    assert_eq!(report.archive_purged, 1);
    let left = archived_messages::Entity::find()
        .all(db.reader())
        .await
        .expect("archive");
    assert_eq!(
        left.iter().map(|m| m.message_id).collect::<Vec<_>>(),
        vec![2]
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(archive_retention_is_applied);
