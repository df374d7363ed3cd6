//! Listening (issue 4): the short-term log follows the channel (edits, deletions), the
//! nickname history follows the members, a disabled channel is logged but never answered,
//! and each exchange moves the relationship metrics by a clamped step with its reason.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, eventually, logged, posts_to, spawn_bot, spawn_bot_with};
use fakes::{Reply, Rule, ids, payloads};
use personabot::domain::{ChannelId, GuildId, MessageId, Metric, Relationship, UserId};

fn mention(text: &str) -> String {
    format!("<@{}> {text}", ids::BOT)
}

fn snowflake(message: &serde_json::Value) -> u64 {
    message["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the fake gives every message a snowflake id")
}

/// An edit rewrites the logged row; a deletion removes it. Neither addresses the bot.
async fn edits_and_deletions_follow_the_channel(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let discord = &bot.discord;
    let kept = snowflake(
        &discord
            .user_says(ids::GENERAL, ids::ALICE, "I love tea")
            .await,
    );
    let gone = snowflake(
        &discord
            .user_says(ids::GENERAL, ids::BOB, "oops, wrong channel")
            .await,
    );
    eventually("both messages logged", || async {
        let log = logged(&bot, ids::GENERAL).await;
        (log.iter()
            .filter(|m| m.id == MessageId(kept) || m.id == MessageId(gone))
            .count()
            == 2)
            .then_some(())
    })
    .await;

    discord
        .user_edits(ids::GENERAL, kept, "I love coffee, actually")
        .await
        .expect("the fake knows the message");
    discord.user_deletes(ids::GENERAL, gone).await;
    let log = eventually("the edit and the deletion applied", || async {
        let log = logged(&bot, ids::GENERAL).await;
        let edited = log
            .iter()
            .any(|m| m.id == MessageId(kept) && m.content == "I love coffee, actually");
        let deleted = log.iter().all(|m| m.id != MessageId(gone));
        (edited && deleted).then_some(log)
    })
    .await;
    assert_eq!(
        log.iter().filter(|m| m.id == MessageId(kept)).count(),
        1,
        "edited in place, not appended"
    );
    let row = personabot::store::messages::message(bot.app.database.reader(), MessageId(kept))
        .await
        .expect("read one message");
    assert_eq!(
        row.map(|m| m.content).as_deref(),
        Some("I love coffee, actually")
    );
    assert!(
        personabot::store::messages::message(bot.app.database.reader(), MessageId(gone))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        posts_to(discord, ids::GENERAL).is_empty(),
        "nobody addressed the bot"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(edits_and_deletions_follow_the_channel);

/// GUILD_MEMBER_UPDATE with a new server nickname lands in the nickname history, next to
/// the names already seen.
async fn nickname_changes_are_recorded(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let discord = &bot.discord;
    discord.user_says(ids::GENERAL, ids::ALICE, "hi all").await;
    let alice = UserId(ids::ALICE);
    eventually("alice's username recorded", || async {
        let names = personabot::store::users::known_names(bot.app.database.reader(), alice)
            .await
            .ok()?;
        names.iter().any(|n| n.name == "alice").then_some(())
    })
    .await;

    let update = discord.with_world(|world| {
        let member = world.member_mut(ids::ALICE).expect("alice is a member");
        member.nick = Some("Queen of Tea".into());
        let member = member.clone();
        payloads::guild_member_update(world, &member)
    });
    discord.dispatch("GUILD_MEMBER_UPDATE", update).await;
    let names = eventually("the new nickname recorded", || async {
        let names = personabot::store::users::known_names(bot.app.database.reader(), alice)
            .await
            .ok()?;
        names
            .iter()
            .any(|n| n.name == "Queen of Tea")
            .then_some(names)
    })
    .await;
    let nick = names
        .iter()
        .find(|n| n.name == "Queen of Tea")
        .expect("found above");
    assert_eq!(
        nick.guild_id,
        Some(GuildId(ids::GUILD)),
        "a server nickname belongs to its server"
    );
    assert!(
        names.iter().any(|n| n.name == "alice"),
        "history keeps the older names: {names:?}"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(nickname_changes_are_recorded);

/// A channel switched off is never answered, even when the bot is mentioned; with
/// `log_when_disabled` (off by default) its messages are still logged.
async fn disabled_channel_is_logged_not_answered(backend: Backend) {
    let bot = spawn_bot_with(backend, &[("PERSONABOT__BOT__LOG_WHEN_DISABLED", "true")]).await;
    let discord = &bot.discord;
    let db = &bot.app.database;
    let guild = Some(GuildId(ids::GUILD));
    personabot::store::settings::set_channel_enabled(
        db.writer(),
        guild,
        ChannelId(ids::RANDOM),
        Some(false),
        chrono::Utc::now(),
    )
    .await
    .expect("disable #random");
    // Written behind the bot's back (as a console would): tell the channel to re-read.
    bot.app
        .router
        .policy_changed(Some(ChannelId(ids::RANDOM)))
        .await;
    bot.openai.set_default(Reply::text("I'm listening."));

    let muted = snowflake(
        &discord
            .user_says(ids::RANDOM, ids::ALICE, &mention("are you there?"))
            .await,
    );
    eventually("the message in the disabled channel logged", || async {
        let log = logged(&bot, ids::RANDOM).await;
        log.iter().any(|m| m.id == MessageId(muted)).then_some(())
    })
    .await;

    // Switch it back on and mention the bot again. The channel actor handles its messages
    // in order, so once this one is answered the first was decided on: silence.
    personabot::store::settings::set_channel_enabled(
        db.writer(),
        guild,
        ChannelId(ids::RANDOM),
        Some(true),
        chrono::Utc::now(),
    )
    .await
    .expect("enable #random");
    bot.app
        .router
        .policy_changed(Some(ChannelId(ids::RANDOM)))
        .await;
    let heard = snowflake(
        &discord
            .user_says(ids::RANDOM, ids::ALICE, &mention("and now?"))
            .await,
    );
    let posts = crate::support::wait_for_posts(discord, ids::RANDOM, 1).await;
    assert_eq!(
        posts.len(),
        1,
        "only the message sent while enabled is answered"
    );
    let body = posts[0].body.clone().expect("json body");
    assert_eq!(
        body["message_reference"]["message_id"].as_str(),
        Some(heard.to_string().as_str())
    );
    let chats = bot.openai.chat_requests();
    assert_eq!(
        chats.len(),
        1,
        "{:?}",
        chats.iter().map(|c| c.last_user_text()).collect::<Vec<_>>()
    );
    assert!(chats[0].last_user_text().contains("and now?"));
    assert!(!chats[0].last_user_text().contains("are you there?"));
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(disabled_channel_is_logged_not_answered);

/// After an exchange the judge's JSON deltas move the metrics by at most
/// `relationship_max_step` (1) each, never past their range, and each change is written
/// to the relationship events with the judge's reason.
async fn exchange_moves_the_relationship(backend: Backend) {
    let bot = spawn_bot_with(
        backend,
        &[
            ("PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT", "true"),
            ("PERSONABOT__BOT__RELATIONSHIP_MAX_STEP", "1"),
        ],
    )
    .await;
    let alice = crate::support::member(ids::ALICE);
    let db = &bot.app.database;
    // Trust already at its floor: a negative delta must not push it below 0.
    personabot::store::relationships::set_metric(
        db.writer(),
        alice,
        Metric::Trust,
        0,
        "seeded by the test",
        chrono::Utc::now(),
    )
    .await
    .expect("seed trust");
    bot.openai.script(
        Rule::when_prompt_contains("You keep track of how").reply(Reply::json(serde_json::json!({
            "anger": 3, "rapport": 2, "trust": -1, "formality": 0,
            "reason": "shared a pancake recipe",
        }))),
    );
    bot.openai
        .set_default(Reply::text("Pancakes are the best, thank you!"));

    bot.discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &mention("here's my pancake recipe for you"),
        )
        .await;
    bot.openai
        .wait_for_request(|r| r.prompt_text().contains("You keep track of how"), WAIT)
        .await
        .expect("the exchange was judged");
    let judged = bot
        .openai
        .chat_requests()
        .into_iter()
        .find(|r| r.prompt_text().contains("You keep track of how"))
        .expect("judge request");
    let judged_prompt = judged.prompt_text();
    assert!(
        judged_prompt.contains("here's my pancake recipe for you"),
        "{judged_prompt}"
    );
    assert!(
        judged_prompt.contains("Pancakes are the best"),
        "the judge sees the bot's reply: {judged_prompt}"
    );

    let events = eventually("the relationship change recorded", || async {
        let events = personabot::store::relationships::relationship_events(db.reader(), alice, 20)
            .await
            .ok()?;
        let judged: Vec<_> = events
            .into_iter()
            .filter(|e| e.change.reason == "shared a pancake recipe")
            .collect();
        (judged.len() >= 2).then_some(judged)
    })
    .await;
    let mut moved: Vec<_> = events
        .iter()
        .map(|e| (e.change.metric, e.change.old_value, e.change.new_value))
        .collect();
    moved.sort_by_key(|(m, _, _)| m.name());
    assert_eq!(
        moved,
        vec![(Metric::Anger, 0, 1), (Metric::Rapport, 5, 6)],
        "+3 and +2 are clamped to one step; trust stays at its floor; formality did not move"
    );
    let now = personabot::store::relationships::relationship(db.reader(), alice)
        .await
        .expect("read relationship");
    assert_eq!(now, Relationship::new(1, 6, 0, 0).expect("in range"));
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(exchange_moves_the_relationship);
