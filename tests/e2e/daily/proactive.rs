//! Proactive messages: the bot speaking up unprompted.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{eventually, posts_to, spawn_bot_with, wait_for_posts};
use chrono::Utc;
use fakes::{OpenAiRequest, Reply, Rule, ids};
use personabot::domain::proactive::{ProactiveDecision, SkipReason};
use personabot::domain::{ChannelId, GuildId, UserId};
use serde_json::{Value, json};

fn is_proactive(r: &OpenAiRequest) -> bool {
    r.is_chat()
        && r.system_text()
            .contains("a regular member of a Discord server")
}

/// With the roll forced, a proactive tick speaks in a channel where a member spoke last (no
/// reply, no pings), and stays quiet once its own message is the last one.
async fn proactive_speaks_when_forced(backend: Backend) {
    let bot = spawn_bot_with(
        backend,
        &[("PERSONABOT__SCHEDULE__PROACTIVE_CHANCE", "1.0")],
    )
    .await;
    let (discord, openai, db) = (&bot.discord, &bot.openai, &bot.app.database);
    openai.script(Rule::when(is_proactive).reply(Reply::text(format!(
        "Did anyone finish that puzzle? @everyone <@{}> @here",
        ids::ALICE
    ))));
    personabot::store::settings::set_channel_proactive(
        db.writer(),
        Some(GuildId(ids::GUILD)),
        ChannelId(ids::GENERAL),
        true,
        Utc::now(),
    )
    .await
    .expect("enable proactive messages");

    // No one has spoken yet: an idle channel is left alone.
    let idle = bot
        .app
        .proactive
        .run_now(std::time::Duration::from_secs(120))
        .await
        .expect("tick")
        .expect("tick runs");
    assert_eq!(
        idle,
        vec![(
            ChannelId(ids::GENERAL),
            ProactiveDecision::Skip(SkipReason::ChannelIdle)
        )]
    );

    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            "this crossword is impossible today",
        )
        .await;
    eventually("the member's message logged", || async {
        bot.app.store.flush().await.expect("flush");
        let last = personabot::store::messages::last_message(db.reader(), ChannelId(ids::GENERAL))
            .await
            .expect("read");
        last.is_some_and(|m| m.author_id == UserId(ids::ALICE))
            .then_some(())
    })
    .await;
    let decisions = bot
        .app
        .proactive
        .run_now(std::time::Duration::from_secs(120))
        .await
        .expect("tick")
        .expect("tick runs");
    assert_eq!(decisions.len(), 1);
    assert!(
        matches!(
            decisions[0].1,
            ProactiveDecision::Comment | ProactiveDecision::Musing
        ),
        "{decisions:?}"
    );
    let posts = wait_for_posts(discord, ids::GENERAL, 1).await;
    let body = posts[0].body.clone().expect("json body");
    assert!(
        posts[0].content().is_some_and(|c| c.contains("puzzle")),
        "{body}"
    );
    assert!(
        body.get("message_reference").is_none_or(Value::is_null),
        "not a reply: {body}"
    );
    let allowed = &body["allowed_mentions"];
    assert_eq!(allowed["parse"], json!([]), "no pings: {allowed}");
    assert!(
        allowed["users"].as_array().is_none_or(Vec::is_empty),
        "no pings: {allowed}"
    );
    assert!(
        allowed["roles"].as_array().is_none_or(Vec::is_empty),
        "no pings: {allowed}"
    );
    assert_eq!(
        openai
            .chat_requests()
            .into_iter()
            .filter(is_proactive)
            .count(),
        1
    );

    // Its own message is now the last one: the forced roll does not matter.
    eventually("the bot's message logged", || async {
        bot.app.store.flush().await.expect("flush");
        let last = personabot::store::messages::last_message(db.reader(), ChannelId(ids::GENERAL))
            .await
            .expect("read");
        last.is_some_and(|m| m.author_id == UserId(ids::BOT))
            .then_some(())
    })
    .await;
    let quiet = bot
        .app
        .proactive
        .run_now(std::time::Duration::from_secs(120))
        .await
        .expect("tick")
        .expect("tick runs");
    assert_eq!(
        quiet,
        vec![(
            ChannelId(ids::GENERAL),
            ProactiveDecision::Skip(SkipReason::BotSpokeLast)
        )]
    );
    assert_eq!(posts_to(discord, ids::GENERAL).len(), 1);
    assert_eq!(
        openai
            .chat_requests()
            .into_iter()
            .filter(is_proactive)
            .count(),
        1
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(proactive_speaks_when_forced);
