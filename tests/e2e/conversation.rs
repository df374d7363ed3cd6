//! Talking to the bot: triggers, the prompt it builds, and how it answers.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{
    WAIT, eventually, logged, posts_to, spawn_bot, spawn_bot_with, wait_for_posts,
};
use fakes::{Reply, Rule, ids};
use personabot::domain::{ChannelId, LoggedMessage, MessageId, PersonaKind, UserId};

fn mention(text: &str) -> String {
    format!("<@{}> {text}", ids::BOT)
}

fn posts_to_general(r: &fakes::RecordedRequest) -> bool {
    r.is("POST", &format!("/channels/{}/messages", ids::GENERAL))
}

/// Mentioned: the message is logged, the prompt holds it, the reply goes to the channel as a
/// reply to the message, pinging only its author.
async fn mention_gets_a_reply(backend: Backend) {
    let bot = spawn_bot(backend).await;
    bot.openai.script(
        Rule::when_last_user_contains("pancakes")
            .reply(Reply::text("Pancakes, always. @everyone agrees.")),
    );
    let msg = bot
        .discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("pancakes or waffles?"))
        .await;
    let post = bot
        .discord
        .wait_for_request(posts_to_general, WAIT)
        .await
        .expect("reply posted");
    let body = post.body.clone().expect("json body");
    assert_eq!(post.content(), Some("Pancakes, always. @everyone agrees."));
    assert_eq!(
        body["message_reference"]["message_id"].as_str(),
        msg["id"].as_str(),
        "sent as a reply"
    );
    // Nobody but the asker can be pinged, whatever the model wrote.
    let allowed = &body["allowed_mentions"];
    assert_eq!(allowed["parse"], serde_json::json!([]), "{allowed}");
    assert_eq!(
        allowed["users"],
        serde_json::json!([ids::ALICE.to_string()]),
        "{allowed}"
    );
    let prompt = bot
        .openai
        .chat_requests()
        .last()
        .expect("a chat request")
        .prompt_text();
    assert!(prompt.contains("pancakes or waffles?"), "{prompt}");
    // The member's message and the bot's answer are both in the short-term log.
    let log = eventually("the answer logged", || async {
        let log = logged(&bot, ids::GENERAL).await;
        log.iter()
            .any(|m| m.is_bot && m.content.starts_with("Pancakes, always"))
            .then_some(log)
    })
    .await;
    assert!(
        log.iter().any(
            |m| m.content.contains("pancakes or waffles?") && m.author_id == UserId(ids::ALICE)
        )
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(mention_gets_a_reply);

/// Replying to the bot and saying its name both address it; other bots and messages
/// addressed to someone else do not.
async fn who_the_bot_answers(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let discord = &bot.discord;
    bot.openai.set_default(Reply::text("I'm here."));
    discord
        .user_says(ids::GENERAL, ids::OTHERBOT, &mention("beep boop"))
        .await;
    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &format!("<@{}> testbot is weird right?", ids::BOB),
        )
        .await;
    discord
        .user_says(ids::GENERAL, ids::BOB, "what a day")
        .await;
    // Only the next one is addressed (name said, no mention).
    discord
        .user_says(ids::GENERAL, ids::BOB, "hey testbot, how are you?")
        .await;
    let first = discord
        .wait_for_request(posts_to_general, WAIT)
        .await
        .expect("answered by name");
    assert!(first.body.as_ref().is_some_and(
        |b| b["allowed_mentions"]["users"] == serde_json::json!([ids::BOB.to_string()])
    ));
    let chats = bot.openai.chat_requests();
    assert_eq!(
        chats.len(),
        1,
        "only the name-said message reached the model"
    );
    assert!(chats[0].last_user_text().contains("how are you"));
    // Reply to the bot's message.
    let bot_msg_id = eventually("the bot's message in the channel", || async {
        let log = logged(&bot, ids::GENERAL).await;
        log.iter()
            .rev()
            .find(|m| m.author_id == UserId(ids::BOT))
            .map(|m| m.id.0)
    })
    .await;
    discord
        .user_replies(ids::GENERAL, ids::CAROL, "what do you mean?", bot_msg_id)
        .await;
    wait_for_posts(discord, ids::GENERAL, 2).await;
    assert_eq!(bot.openai.chat_requests().len(), 2);
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(who_the_bot_answers);

/// The prompt is read from the database at the moment of the reply: a 25-hour-old message
/// is left out, and an admin's persona edit shows in the very next prompt.
async fn prompt_reads_the_database_now(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database;
    let old = chrono::Utc::now() - chrono::Duration::hours(25);
    personabot::store::messages::append_messages(
        db.writer(),
        &[LoggedMessage {
            id: MessageId(42),
            channel_id: ChannelId(ids::GENERAL),
            guild_id: None,
            author_id: UserId(ids::BOB),
            author_name: "bob".into(),
            is_bot: false,
            content: "ancient history about zeppelins".into(),
            reply_to: None,
            created_at: old,
        }],
    )
    .await
    .expect("seed old message");
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("first question"))
        .await;
    bot.discord
        .wait_for_request(posts_to_general, WAIT)
        .await
        .expect("first reply");
    let first = bot
        .openai
        .chat_requests()
        .last()
        .expect("prompt")
        .prompt_text();
    assert!(
        !first.contains("zeppelins"),
        "25-hour-old message must not be in the prompt"
    );
    assert!(!first.contains("collects antique teapots"));

    personabot::store::persona::add_persona_entry(
        db.writer(),
        None,
        PersonaKind::Quirk,
        "collects antique teapots",
        None,
        chrono::Utc::now(),
    )
    .await
    .expect("edit persona");
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("second question"))
        .await;
    bot.openai
        .wait_for_request(|r| r.prompt_text().contains("second question"), WAIT)
        .await
        .expect("second prompt");
    let second = bot
        .openai
        .chat_requests()
        .last()
        .expect("prompt")
        .prompt_text();
    assert!(second.contains("collects antique teapots"), "{second}");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(prompt_reads_the_database_now);

/// Emotes are rendered, long answers are split, and a failing model gets a graceful line.
async fn answers_are_shaped_for_discord(backend: Backend) {
    // Room for a three-message answer (the default cap keeps replies to one message).
    let bot = spawn_bot_with(backend, &[("PERSONABOT__BOT__MAX_REPLY_CHARS", "5000")]).await;
    let discord = &bot.discord;
    bot.openai.script(
        Rule::when_last_user_contains("party")
            .reply(Reply::text("Let's go :partyblob: :dancecat: :nosuchemote:")),
    );
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("party time?"))
        .await;
    let post = discord
        .wait_for_request(posts_to_general, WAIT)
        .await
        .expect("emote reply");
    assert_eq!(
        post.content(),
        Some("Let's go <:partyblob:7000> <a:dancecat:7001> :nosuchemote:")
    );

    let paragraph = "word ".repeat(299) + "end.";
    let long = [paragraph.as_str(); 3].join("\n\n");
    assert!(long.chars().count() > 4400);
    bot.openai
        .script(Rule::when_last_user_contains("essay").reply(Reply::text(long)));
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("write me an essay"))
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 4).await;
    let parts = &posts[1..];
    assert_eq!(parts.len(), 3);
    assert!(
        parts
            .iter()
            .all(|p| p.content().is_some_and(|c| c.chars().count() <= 2000))
    );
    assert!(
        parts[0]
            .body
            .as_ref()
            .is_some_and(|b| b.get("message_reference").is_some()),
        "first part replies"
    );
    assert!(parts[1].body.as_ref().is_some_and(|b| {
        b["allowed_mentions"]["users"]
            .as_array()
            .is_none_or(|u| u.is_empty())
    }));
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(answers_are_shaped_for_discord);

/// A model that answers 500 and then hangs: the member gets a short in-character line, once
/// for the whole outage, and nothing they said is lost; when the model is back, it answers.
async fn dead_model_is_handled(backend: Backend) {
    let bot = spawn_bot_with(backend, &[("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS", "1")]).await;
    let discord = &bot.discord;
    bot.openai.script(
        Rule::any()
            .reply(Reply::Status(500, "boom".into()))
            .times(2),
    );
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("are you ok?"))
        .await;
    let post = discord
        .wait_for_request(posts_to_general, WAIT)
        .await
        .expect("failure line");
    let line = post.content().unwrap_or_default().to_owned();
    assert!(line.contains("tangled"), "{line}");
    bot.openai
        .script(Rule::when_last_user_contains("still there?").reply(Reply::Hang));
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("still there?"))
        .await;
    // Back again: the next mention is answered, and no second trouble line came between.
    bot.openai
        .script(Rule::when_last_user_contains("back now?").reply(Reply::text("I'm back!")));
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("back now?"))
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 2).await;
    assert_eq!(posts[1].content(), Some("I'm back!"), "one line per outage");
    let log = logged(&bot, ids::GENERAL).await;
    assert!(log.iter().any(|m| m.content.contains("are you ok?")));
    assert!(log.iter().any(|m| m.content.contains("still there?")));
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(dead_model_is_handled);

/// One member cannot run up the bill: past the per-minute limit the bot says so once, then
/// stays quiet.
async fn rate_limit_is_enforced(backend: Backend) {
    let bot = spawn_bot_with(
        backend,
        &[("PERSONABOT__BOT__USER_REPLIES_PER_MINUTE", "2")],
    )
    .await;
    let discord = &bot.discord;
    for i in 0..5 {
        discord
            .user_says(ids::GENERAL, ids::ALICE, &mention(&format!("question {i}")))
            .await;
    }
    wait_for_posts(discord, ids::GENERAL, 3).await;
    // Every message went through the channel actor (so all limit decisions are made) once
    // all five are logged; then nothing more may be posted.
    eventually("all five questions logged", || async {
        let log = logged(&bot, ids::GENERAL).await;
        (log.iter()
            .filter(|m| m.content.contains("question"))
            .count()
            >= 5)
            .then_some(())
    })
    .await;
    let posts = posts_to(discord, ids::GENERAL);
    assert_eq!(
        bot.openai.chat_requests().len(),
        2,
        "only two reached the model"
    );
    assert_eq!(posts.len(), 3, "two answers and one notice");
    assert!(posts[2].content().unwrap_or_default().contains("breather"));
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(rate_limit_is_enforced);
