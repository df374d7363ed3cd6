//! The servers operators really run, played by the fake: a strict chat template (Gemma or
//! Mistral under vLLM), a 2,048-token window, a model that rambles for 30,000 characters,
//! a reasoning model's inline thinking, a judgement without its reason, a wrong key on every
//! call, and a server that counts no usage. Each test runs in both servers, with the member
//! who is in both.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::ops::OpsClient;
use crate::support::{TestBot, eventually, posts_to, spawn_bot_with, wait_for_posts};
use fakes::{OpenAiRequest, Reply, Rule, ServerTraits, ids};
use std::time::Duration;

const FAILURE_WORD: &str = "tangled";

fn mention(text: &str) -> String {
    format!("<@{}> {text}", ids::BOT)
}

/// Rate limits out of the way: these tests count what the server does, not the limits.
const OPEN: &[(&str, &str)] = &[
    ("PERSONABOT__BOT__USER_REPLIES_PER_MINUTE", "100"),
    ("PERSONABOT__BOT__CHANNEL_REPLIES_PER_MINUTE", "100"),
];

async fn bot_with(backend: Backend, extra: &[(&str, &str)]) -> TestBot {
    let mut all = OPEN.to_vec();
    all.extend_from_slice(extra);
    spawn_bot_with(backend, &all).await
}

/// Alice (in both servers) mentions the bot in each; returns both channels' posts.
async fn ask_in_both(bot: &TestBot, text: &str) -> [Vec<fakes::RecordedRequest>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    for (i, channel) in [ids::GENERAL, ids::OTHER_GENERAL].into_iter().enumerate() {
        let before = posts_to(&bot.discord, channel).len();
        bot.discord
            .user_says(channel, ids::ALICE, &mention(text))
            .await;
        out[i] = wait_for_posts(&bot.discord, channel, before + 1).await;
    }
    out
}

fn last_content(posts: &[fakes::RecordedRequest]) -> String {
    posts
        .last()
        .and_then(|p| p.content())
        .unwrap_or_default()
        .to_owned()
}

/// Gemma's template under vLLM refuses a system turn after the first or two user turns in
/// a row. A channel with history (the bot's own earlier answer included) is answered in
/// both servers, and every request the bot made has the strict shape.
async fn a_strict_chat_template_accepts_every_request(backend: Backend) {
    let bot = bot_with(backend, &[]).await;
    bot.openai.set_traits(ServerTraits {
        strict_template: true,
        ..Default::default()
    });
    bot.openai.set_default(Reply::text("Sure, happy to chat."));
    for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
        bot.discord
            .user_says(channel, ids::BOB, "anyone around this evening?")
            .await;
    }
    for round in 0..2 {
        let posts = ask_in_both(&bot, &format!("round {round}: what do you think?")).await;
        for channel_posts in &posts {
            let said = last_content(channel_posts);
            assert_eq!(
                said, "Sure, happy to chat.",
                "round {round}: {channel_posts:#?}"
            );
        }
    }
    let chats = bot.openai.chat_requests();
    assert!(chats.len() >= 4);
    for request in &chats {
        assert!(request.roles_alternate(), "{:?}", request.messages());
    }
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_strict_chat_template_accepts_every_request);

/// vLLM serving a 2,048-token window (`max_model_len` in its model list): a busy channel
/// (300 lines) is still answered, with a prompt that fits, in both servers; nothing is
/// refused as too long.
async fn a_small_window_fits_a_busy_channel(backend: Backend) {
    let bot = bot_with(backend, &[]).await;
    bot.openai.set_traits(ServerTraits {
        context_tokens: Some(2048),
        ..Default::default()
    });
    bot.openai.set_default(Reply::text("Busy in here today!"));
    for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
        for i in 0..150 {
            bot.discord
                .user_says(
                    channel,
                    if i % 2 == 0 { ids::BOB } else { ids::ALICE },
                    &format!("line {i}: chatting about the weather, the match last night and what to cook for dinner"),
                )
                .await;
        }
    }
    let posts = ask_in_both(&bot, "so what's the plan?").await;
    for channel_posts in &posts {
        assert_eq!(last_content(channel_posts), "Busy in here today!");
    }
    let chats = bot.openai.chat_requests();
    let refused = chats
        .iter()
        .filter(|r| r.prompt_tokens() as u64 + r.output_cap().unwrap_or(16) > 2048)
        .count();
    println!(
        "2,048-token window: {} chat requests, {refused} over the window (each answered by one smaller retry)",
        chats.len()
    );
    assert!(
        refused <= 1,
        "at most the first, before the profile was known"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_small_window_fits_a_busy_channel);

/// A server that ignores the output cap and a model that rambles: 30,000 characters become
/// one reply within `bot.max_reply_chars`, cut at a sentence, in at most
/// `bot.max_reply_messages` messages. Inline reasoning and an echoed `[time] name:` prefix
/// never reach the channel.
async fn rambling_and_thinking_are_cleaned(backend: Backend) {
    let bot = bot_with(backend, &[("PERSONABOT__BOT__MAX_REPLY_CHARS", "3000")]).await;
    let ramble = "This is one more sentence about cats. ".repeat(800);
    assert!(ramble.len() >= 30_000);
    bot.openai
        .script(Rule::when_last_user_contains("ramble").reply(Reply::text(ramble)));
    bot.openai.script(
        Rule::when_last_user_contains("think").reply(Reply::text(
            "<think>\nThe member asks about tea. SECRET-REASONING I should be nice.\n</think>\n\n[21:04] testbot: Green tea, always.",
        )),
    );
    let posts = ask_in_both(&bot, "please ramble about cats").await;
    for channel_posts in &posts {
        let answer: Vec<&str> = channel_posts
            .iter()
            .filter_map(|p| p.content())
            .filter(|c| c.contains("cats"))
            .collect();
        let total: usize = answer.iter().map(|c| c.chars().count()).sum();
        assert!(
            !answer.is_empty() && answer.len() <= 3,
            "{} messages",
            answer.len()
        );
        assert!(total <= 3000, "{total} characters");
        assert!(answer.iter().all(|c| c.chars().count() <= 2000));
        assert!(
            answer.last().is_some_and(|c| c.ends_with("cats.")),
            "cut at a sentence"
        );
    }
    let posts = ask_in_both(&bot, "what do you think about tea?").await;
    for channel_posts in &posts {
        assert_eq!(last_content(channel_posts), "Green tea, always.");
        assert!(
            channel_posts
                .iter()
                .filter_map(|p| p.content())
                .all(|c| !c.contains("SECRET-REASONING") && !c.contains("<think>"))
        );
    }
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(rambling_and_thinking_are_cleaned);

/// A small model's judgement `{"anger":0,"rapport":2,"trust":0,"formality":0}` without a
/// reason still moves the relationship (in both servers), logged with a default reason.
async fn a_judgement_without_a_reason_still_moves(backend: Backend) {
    let bot = bot_with(
        backend,
        &[("PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT", "true")],
    )
    .await;
    bot.openai.script(
        Rule::when(|r: &OpenAiRequest| r.system_text().contains("\"rapport\":")).reply(
            Reply::text(r#"{"anger":0,"rapport":2,"trust":0,"formality":0}"#),
        ),
    );
    bot.openai.set_default(Reply::text("Aw, thanks!"));
    ask_in_both(&bot, "you're the best, thank you so much").await;
    for guild in [ids::GUILD, ids::OTHER_GUILD] {
        let member = personabot::domain::ServerMember::of(
            Some(personabot::domain::GuildId(guild)),
            personabot::domain::UserId(ids::ALICE),
        );
        let events = eventually("the move is saved", || async {
            let events = bot
                .app
                .store
                .relationship_events(member, 10)
                .await
                .unwrap_or_default();
            (!events.is_empty()).then_some(events)
        })
        .await;
        assert!(
            events.iter().any(|e| e.change.reason.contains("no reason")),
            "{events:?}"
        );
        let rel = bot
            .app
            .store
            .relationship(member)
            .await
            .expect("relationship");
        let default = personabot::domain::Relationship::default();
        assert!(
            rel.get(personabot::domain::Metric::Rapport)
                > default.get(personabot::domain::Metric::Rapport),
            "{rel:?}"
        );
    }
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_judgement_without_a_reason_still_moves);

/// A wrong key: 401 on every call. Twelve mentions over two servers cost one model call
/// (the breaker opens at once and retries slowly), each channel hears the failure line at
/// most once, and `/readyz` says what the server refused.
async fn a_wrong_key_is_one_line_per_channel(backend: Backend) {
    let bot = bot_with(backend, &[]).await;
    bot.openai
        .go_down(Reply::status(401, "Incorrect API key provided: sk-fake."));
    for i in 0..12 {
        let channel = if i % 2 == 0 {
            ids::GENERAL
        } else {
            ids::OTHER_GENERAL
        };
        let who = if i % 4 < 2 { ids::ALICE } else { ids::BOB };
        let who = if channel == ids::OTHER_GENERAL {
            ids::ALICE
        } else {
            who
        };
        bot.discord
            .user_says(channel, who, &mention(&format!("hello {i}?")))
            .await;
    }
    eventually("a failure line in each channel", || async {
        [ids::GENERAL, ids::OTHER_GENERAL]
            .iter()
            .all(|c| {
                posts_to(&bot.discord, *c)
                    .iter()
                    .any(|p| p.content().is_some_and(|t| t.contains(FAILURE_WORD)))
            })
            .then_some(())
    })
    .await;
    // Time for every mention to have been handled (each waits for nothing now).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
        let lines = posts_to(&bot.discord, channel)
            .iter()
            .filter(|p| p.content().is_some_and(|t| t.contains(FAILURE_WORD)))
            .count();
        assert_eq!(lines, 1, "channel {channel}");
    }
    let calls = bot.openai.chat_requests().len();
    assert!(
        calls <= 2,
        "{calls} chat calls for 12 mentions with a wrong key"
    );
    let ops = OpsClient::new(bot.app.ops_addr().expect("the ops server runs"));
    let (status, body) = ops.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("401") && body.contains("refuses"), "{body}");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_wrong_key_is_one_line_per_channel);

/// A server that reports zero usage: the budgets count the tokens themselves, so a member
/// with a 400-token daily budget does not get eight answers of eight.
async fn zero_usage_still_spends_the_budget(backend: Backend) {
    let bot = bot_with(
        backend,
        &[("PERSONABOT__BUDGET__MEMBER_DAILY_TOKENS", "400")],
    )
    .await;
    bot.openai.set_traits(ServerTraits {
        zero_usage: true,
        ..Default::default()
    });
    bot.openai.set_default(Reply::text(
        "Here is a fairly long answer about that topic, with details.",
    ));
    for i in 0..8 {
        bot.discord
            .user_says(
                ids::GENERAL,
                ids::ALICE,
                &mention(&format!("question {i}?")),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answers = bot
        .openai
        .chat_requests()
        .iter()
        .filter(|r| r.last_user_text().contains("question"))
        .count();
    assert!(answers < 8, "{answers} of 8 questions reached the model");
    // The member's budget is theirs in that server: in the other server they are answered.
    bot.discord
        .user_says(ids::OTHER_GENERAL, ids::ALICE, &mention("and over here?"))
        .await;
    let posts = wait_for_posts(&bot.discord, ids::OTHER_GENERAL, 1).await;
    assert!(
        last_content(&posts).contains("fairly long answer"),
        "{posts:#?}"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(zero_usage_still_spends_the_budget);

/// llama.cpp serves one model per process: the embeddings on a server of their own
/// (`llm.embedding_base_url`). The nightly run embeds the new facts there (both servers'
/// members), and the chat server sees no embedding request.
async fn embeddings_come_from_their_own_server(backend: Backend) {
    let embedder = fakes::FakeOpenAi::start().await;
    let embed_url = embedder.base_url();
    let bot = bot_with(
        backend,
        &[("PERSONABOT__LLM__EMBEDDING_BASE_URL", embed_url.as_str())],
    )
    .await;
    let is_extraction =
        |r: &OpenAiRequest| r.is_chat() && r.system_text().contains("pick out durable facts about");
    bot.openai.script(
        Rule::when(move |r: &OpenAiRequest| is_extraction(r) && r.user_text().contains("bees"))
            .reply(Reply::json(serde_json::json!({"facts": [
                {"fact": "keeps bees on a balcony", "category": "personal"}
            ]}))),
    );
    bot.openai.script(
        Rule::when(move |r: &OpenAiRequest| {
            is_extraction(r) && r.user_text().contains("motorbike")
        })
        .reply(Reply::json(serde_json::json!({"facts": [
            {"fact": "restores old motorbikes", "category": "personal"}
        ]}))),
    );
    bot.discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            "my bees made so much honey this summer",
        )
        .await;
    bot.discord
        .user_says(
            ids::OTHER_GENERAL,
            ids::ALICE,
            "spent the weekend on an old motorbike",
        )
        .await;
    eventually("both messages logged", || async {
        let a = crate::support::logged(&bot, ids::GENERAL).await.len();
        let b = crate::support::logged(&bot, ids::OTHER_GENERAL).await.len();
        (a >= 1 && b >= 1).then_some(())
    })
    .await;
    let report = bot
        .app
        .consolidator
        .run_now(crate::support::WAIT)
        .await
        .expect("consolidator answers")
        .expect("the run finishes");
    assert_eq!(report.facts_added, 2, "{report:?}");
    assert!(
        !embedder.embedding_requests().is_empty(),
        "the facts were embedded on the embedding server"
    );
    assert!(
        bot.openai.embedding_requests().is_empty(),
        "the chat server was asked for no embedding"
    );
    for guild in [ids::GUILD, ids::OTHER_GUILD] {
        let member = personabot::domain::ServerMember::of(
            Some(personabot::domain::GuildId(guild)),
            personabot::domain::UserId(ids::ALICE),
        );
        let facts = crate::support::facts_of(&bot.app.database, member, false).await;
        assert_eq!(facts.len(), 1, "one fact in each server: {facts:?}");
        assert!(facts[0].embedding.is_some(), "{facts:?}");
    }
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(embeddings_come_from_their_own_server);

/// An answer the split needs more messages for than `bot.max_reply_messages` allows (three
/// paragraphs of 1,100 characters fit the 3,800-character cap but no two fit one message):
/// at most two are sent, in both servers, and each ends at a paragraph.
async fn an_answer_takes_at_most_the_configured_messages(backend: Backend) {
    let bot = bot_with(
        backend,
        &[
            ("PERSONABOT__BOT__MAX_REPLY_CHARS", "5000"),
            ("PERSONABOT__BOT__MAX_REPLY_MESSAGES", "2"),
        ],
    )
    .await;
    let paragraph = "word ".repeat(219) + "end.";
    bot.openai
        .set_default(Reply::text([paragraph.as_str(); 3].join("\n\n")));
    ask_in_both(&bot, "write me an essay").await;
    // Every part of a split answer is sent right after the first.
    tokio::time::sleep(Duration::from_millis(800)).await;
    for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
        let parts: Vec<String> = posts_to(&bot.discord, channel)
            .iter()
            .filter_map(|p| p.content().map(str::to_owned))
            .collect();
        assert_eq!(
            parts.len(),
            2,
            "channel {channel}: {} messages",
            parts.len()
        );
        assert!(parts.iter().all(|p| p.ends_with("end.")), "{parts:?}");
    }
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(an_answer_takes_at_most_the_configured_messages);
