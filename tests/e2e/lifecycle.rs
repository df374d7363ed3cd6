//! The bot as a long-running process: gateway resumes, supervised restarts, graceful
//! shutdown, and secrets kept out of the logs.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, spawn_bot};
use fakes::{Reply, ids};
use personabot::actors::supervisor::Child;
use personabot::domain::{ChannelId, LoggedMessage, MessageId, UserId};
use std::time::Duration;

async fn logged_contents(bot: &crate::support::TestBot) -> Vec<String> {
    bot.app.store.flush().await.expect("flush");
    personabot::store::messages::recent_messages(
        bot.app.database.reader(),
        ChannelId(ids::GENERAL),
        chrono::Utc::now() - chrono::Duration::hours(1),
        500,
    )
    .await
    .expect("read log")
    .into_iter()
    .map(|m| m.content)
    .collect()
}

/// A dropped gateway connection is resumed and the message sent meanwhile still arrives,
/// is logged and answered.
///
/// The drop waits until the start-up presence updates (the day's status) have gone out:
/// one sent into the closing socket makes serenity 0.12 end the shard instead of resuming
/// it (serenity issue 3347). The bot then recovers by a fresh session (`shard_watch`),
/// which is not what this test is about.
async fn gateway_drop_is_resumed(backend: Backend) {
    let bot = spawn_bot(backend).await;
    bot.openai.set_default(Reply::text("still here"));
    bot.discord
        .wait_for_gateway(|p| p["op"] == 3, WAIT)
        .await
        .expect("the day's status was set");
    tokio::time::sleep(Duration::from_millis(500)).await;
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, "before the drop")
        .await;
    bot.discord.drop_connection().await;
    bot.discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &format!("<@{}> during the drop", ids::BOT),
        )
        .await;
    bot.discord
        .wait_for_resumed(1, WAIT)
        .await
        .expect("serenity resumed");
    bot.discord
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{}/messages", ids::GENERAL)),
            WAIT,
        )
        .await
        .expect("answered after resume");
    let log = logged_contents(&bot).await;
    assert!(log.iter().any(|c| c == "before the drop"));
    assert!(log.iter().any(|c| c.ends_with("during the drop")));
    assert_eq!(
        log.iter()
            .filter(|c| c.ends_with("during the drop"))
            .count(),
        1,
        "no duplicate after replay"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(gateway_drop_is_resumed);

/// Killing the StoreActor: the supervisor starts a new one and the bot keeps logging.
async fn crashed_child_is_restarted(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let before = bot.app.store.slot().get().expect("store running");
    before.kill();
    let restarted = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(now) = bot.app.store.slot().get()
                && now.get_id() != before.get_id()
            {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("store restarted");
    assert_ne!(restarted.get_id(), before.get_id());
    let restarts = bot.app.supervisor.restarts().await.expect("restart counts");
    assert!(restarts.contains(&(Child::Store, 1)), "{restarts:?}");
    bot.discord
        .user_says(ids::GENERAL, ids::BOB, "after the restart")
        .await;
    tokio::time::timeout(WAIT, async {
        while !logged_contents(&bot)
            .await
            .iter()
            .any(|c| c == "after the restart")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("logging works after the restart");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(crashed_child_is_restarted);

/// Messages still buffered when shutdown starts are written before the process ends.
async fn shutdown_flushes_pending_writes(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let url = bot.db.url.clone();
    let now = chrono::Utc::now();
    for i in 0..300u64 {
        bot.app
            .store
            .append_message(LoggedMessage {
                id: MessageId(10_000 + i),
                channel_id: ChannelId(ids::GENERAL),
                guild_id: None,
                author_id: UserId(ids::ALICE),
                author_name: "alice".into(),
                is_bot: false,
                content: format!("pending {i}"),
                reply_to: None,
                created_at: now,
            })
            .await;
    }
    bot.app.shutdown().await.expect("clean shutdown");
    let store = personabot::store::Store::connect(&url, Default::default())
        .await
        .expect("reopen");
    let logged = personabot::store::messages::recent_messages(
        store.reader(),
        ChannelId(ids::GENERAL),
        now - chrono::Duration::minutes(1),
        1000,
    )
    .await
    .expect("read");
    assert_eq!(
        logged
            .iter()
            .filter(|m| m.content.starts_with("pending "))
            .count(),
        300
    );
}
e2e_both!(shutdown_flushes_pending_writes);

/// Messages sent while the bot was down (which Discord never replays after a restart) are
/// read back from the channel history on the next start and logged, not answered.
async fn restart_backfills_missed_messages(backend: Backend) {
    let first = spawn_bot(backend).await;
    first
        .discord
        .user_says(ids::GENERAL, ids::ALICE, "seen live")
        .await;
    crate::support::eventually("live message logged", || async {
        crate::support::logged(&first, ids::GENERAL)
            .await
            .iter()
            .any(|m| m.content == "seen live")
            .then_some(())
    })
    .await;
    let crate::support::TestBot {
        app,
        discord,
        openai,
        db,
    } = first;
    app.shutdown().await.expect("clean shutdown");
    // Said while the bot was offline: in the channel's history, never dispatched.
    discord.with_world(|world| {
        for text in ["missed one", &format!("<@{}> missed two", ids::BOT)] {
            let id = world.next_id();
            let message = fakes::payloads::message(world, id, ids::GENERAL, ids::BOB, text);
            world.store_message(ids::GENERAL, message);
        }
    });
    let settings = crate::support::settings(&discord, &openai, &db.url, &[]);
    let app = personabot::app::App::start(settings)
        .await
        .expect("restart");
    app.wait_ready(WAIT).await.expect("ready again");
    let bot = crate::support::TestBot {
        app,
        discord,
        openai,
        db,
    };
    let log = crate::support::eventually("missed messages logged", || async {
        let log = crate::support::logged(&bot, ids::GENERAL).await;
        log.iter()
            .any(|m| m.content.ends_with("missed two"))
            .then_some(log)
    })
    .await;
    assert!(log.iter().any(|m| m.content == "missed one"));
    assert_eq!(log.iter().filter(|m| m.content == "seen live").count(), 1);
    assert!(
        bot.openai.chat_requests().is_empty(),
        "old messages are not answered"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(restart_backfills_missed_messages);

/// A token Discord rejects stops the bot with a message naming the setting, instead of
/// reconnecting forever.
async fn rejected_token_stops_the_bot(backend: Backend) {
    let discord = fakes::FakeDiscord::start(fakes::World::default()).await;
    let openai = fakes::FakeOpenAi::start().await;
    let db = crate::common::db::TestDb::new(backend).await;
    let settings = crate::support::settings(
        &discord,
        &openai,
        &db.url,
        &[("PERSONABOT__DISCORD__TOKEN", "not-the-token")],
    );
    let app = personabot::app::App::start(settings).await.expect("starts");
    let outcome = tokio::time::timeout(WAIT, app.run_until(std::future::pending()))
        .await
        .expect("stops by itself");
    let error = outcome.expect_err("a rejected token is an error");
    assert!(
        error.to_string().contains("PERSONABOT__DISCORD__TOKEN"),
        "{error}"
    );
}
e2e_both!(rejected_token_stops_the_bot);
