//! No backlog, no storm: a dead model server behind the circuit breaker, mentions that wait
//! too long, and one member's mentions answered once.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, eventually, logged, posts_to, spawn_bot_with};
use fakes::{Reply, Rule, ids};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const FAILURE_WORD: &str = "tangled";
const ANSWER: &str = "Hello from the fake model.";

fn mention(text: &str) -> String {
    format!("<@{}> {text}", ids::BOT)
}

fn message_id(sent: &serde_json::Value) -> u64 {
    sent["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("the fake returns the message it dispatched")
}

/// The message a post replies to.
fn replies_to(post: &fakes::RecordedRequest) -> Option<u64> {
    post.body.as_ref()?["message_reference"]["message_id"]
        .as_str()?
        .parse()
        .ok()
}

fn failure_lines(posts: &[fakes::RecordedRequest]) -> usize {
    posts
        .iter()
        .filter(|p| p.content().is_some_and(|c| c.contains(FAILURE_WORD)))
        .count()
}

/// Short everything: one attempt of one second, a breaker that opens after two failures and
/// cools down for one second, mentions stale after two seconds; rate limits out of the way.
const FAST: &[(&str, &str)] = &[
    ("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS", "1"),
    ("PERSONABOT__LLM__MAX_RETRIES", "0"),
    ("PERSONABOT__OVERLOAD__BREAKER_FAILURES", "2"),
    ("PERSONABOT__OVERLOAD__BREAKER_COOL_DOWN_SECS", "1"),
    ("PERSONABOT__OVERLOAD__MAX_MENTION_AGE_SECS", "2"),
    ("PERSONABOT__BOT__USER_REPLIES_PER_MINUTE", "100"),
    ("PERSONABOT__BOT__CHANNEL_REPLIES_PER_MINUTE", "100"),
];

/// The model server hangs for longer than the age limit while three members mention the
/// bot 20 times in two channels of two servers: each channel hears the failure line at
/// most once, the breaker stops the calls, and after recovery no stale mention is answered.
async fn model_outage_is_no_storm(backend: Backend) {
    outage_storm(backend, Reply::Hang).await;
}
e2e_both!(model_outage_is_no_storm);

/// The same storm with a server that answers 503 at once instead of hanging.
async fn model_503_is_no_storm(backend: Backend) {
    outage_storm(backend, Reply::status(503, "The server is overloaded")).await;
}
e2e_both!(model_503_is_no_storm);

async fn outage_storm(backend: Backend, down: Reply) {
    let bot = spawn_bot_with(backend, FAST).await;
    let discord = &bot.discord;
    let openai = &bot.openai;
    let kind = format!("{down:?}");
    openai.go_down(down);
    let outage_started = Instant::now();
    let mut storm = HashSet::new();
    for i in 0..20 {
        let (channel, who) = match i % 4 {
            3 => (ids::OTHER_GENERAL, ids::ALICE),
            n => (ids::GENERAL, [ids::ALICE, ids::BOB, ids::CAROL][n]),
        };
        let sent = discord
            .user_says(
                channel,
                who,
                &mention(&format!("storm {i}, are you there?")),
            )
            .await;
        storm.insert(message_id(&sent));
    }
    let last_mention = Instant::now();
    // Every mention reached its channel actor (logged), and both channels said their line.
    eventually("all 20 mentions logged", || async {
        let general = logged(&bot, ids::GENERAL).await;
        let other = logged(&bot, ids::OTHER_GENERAL).await;
        let n = general
            .iter()
            .chain(&other)
            .filter(|m| m.content.contains("storm"))
            .count();
        (n == 20).then_some(())
    })
    .await;
    eventually("a failure line in each channel", || async {
        (failure_lines(&posts_to(discord, ids::GENERAL)) >= 1
            && failure_lines(&posts_to(discord, ids::OTHER_GENERAL)) >= 1)
            .then_some(())
    })
    .await;
    // The outage itself: it lasts past the age limit of every mention (2 s) and past the
    // cool-down, so the breaker has had its chance to try again.
    tokio::time::sleep_until((last_mention + Duration::from_millis(3_500)).into()).await;
    let calls_during_outage = openai.chat_requests().len();
    openai.recover();
    let outage = outage_started.elapsed();

    // A fresh mention after recovery is answered (the breaker's trial call closes it).
    let fresh = discord
        .user_says(ids::GENERAL, ids::BOB, &mention("are you back?"))
        .await;
    let fresh = message_id(&fresh);
    eventually("the fresh mention answered", || async {
        posts_to(discord, ids::GENERAL)
            .iter()
            .any(|p| replies_to(p) == Some(fresh) && p.content() == Some(ANSWER))
            .then_some(())
    })
    .await;
    // Once the fresh answer is logged nothing is left in the queue: it ran last.
    bot.app.store.flush().await.expect("flush");

    let general = posts_to(discord, ids::GENERAL);
    let other = posts_to(discord, ids::OTHER_GENERAL);
    let stale_answers = general
        .iter()
        .chain(&other)
        .filter(|p| p.content() == Some(ANSWER))
        .filter(|p| replies_to(p).is_some_and(|id| storm.contains(&id)))
        .count();
    let calls_after_recovery = openai.chat_requests().len() - calls_during_outage;
    println!(
        "model outage ({kind}) of {outage:?}, 20 mentions: {calls_during_outage} model calls during it; \
         failure lines GENERAL {}, OTHER_GENERAL {}; {calls_after_recovery} model call(s) after \
         recovery; {stale_answers} answers to stale mentions",
        failure_lines(&general),
        failure_lines(&other),
    );
    assert!(failure_lines(&general) <= 1, "GENERAL: {general:#?}");
    assert!(failure_lines(&other) <= 1, "OTHER_GENERAL: {other:#?}");
    assert_eq!(
        stale_answers, 0,
        "no answer to a mention older than the age limit"
    );
    assert!(
        calls_during_outage <= 4,
        "the breaker stops the calls: {calls_during_outage} during the outage"
    );
    assert_eq!(
        calls_after_recovery, 1,
        "only the fresh mention reached the model"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}

/// A slow (not failing) model: mentions that waited past the age limit behind a long reply
/// are not answered late.
async fn late_mentions_are_not_answered(backend: Backend) {
    // The model may take its time here: it is slow, not down.
    let settings = [FAST, &[("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS", "10")]].concat();
    let bot = spawn_bot_with(backend, &settings).await;
    let discord = &bot.discord;
    bot.openai.script(
        Rule::when_last_user_contains("slow one")
            .reply(Reply::delayed(
                Duration::from_millis(2_600),
                Reply::text("Done thinking."),
            ))
            .times(1),
    );
    discord
        .user_says(ids::GENERAL, ids::CAROL, &mention("a slow one"))
        .await;
    bot.openai
        .wait_for_request(|r| r.last_user_text().contains("slow one"), WAIT)
        .await
        .expect("the slow reply started");
    for (who, text) in [(ids::ALICE, "late a"), (ids::BOB, "late b")] {
        discord.user_says(ids::GENERAL, who, &mention(text)).await;
    }
    eventually("the slow answer", || async {
        posts_to(discord, ids::GENERAL)
            .iter()
            .any(|p| p.content() == Some("Done thinking."))
            .then_some(())
    })
    .await;
    // The queue is looked at as soon as the slow reply finishes; a new mention after it is
    // answered, and it is queued behind anything left, so once it is answered the late
    // ones have had their chance.
    let fresh = discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("fresh question"))
        .await;
    let fresh = message_id(&fresh);
    eventually("the fresh mention answered", || async {
        posts_to(discord, ids::GENERAL)
            .iter()
            .any(|p| replies_to(p) == Some(fresh))
            .then_some(())
    })
    .await;
    let prompts: Vec<String> = bot
        .openai
        .chat_requests()
        .iter()
        .map(fakes::OpenAiRequest::last_user_text)
        .collect();
    assert_eq!(
        prompts.len(),
        2,
        "the slow one and the fresh one: {prompts:#?}"
    );
    assert_eq!(posts_to(discord, ids::GENERAL).len(), 2);
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(late_mentions_are_not_answered);

/// Three mentions from one member while the bot is busy are answered once, for the latest,
/// with the other two in the prompt; another member waiting is answered too.
async fn one_members_mentions_are_answered_once(backend: Backend) {
    let bot = spawn_bot_with(
        backend,
        &[
            ("PERSONABOT__BOT__USER_REPLIES_PER_MINUTE", "100"),
            ("PERSONABOT__BOT__CHANNEL_REPLIES_PER_MINUTE", "100"),
        ],
    )
    .await;
    let discord = &bot.discord;
    bot.openai.script(
        Rule::when_last_user_contains("busy")
            .reply(Reply::delayed(
                Duration::from_millis(800),
                Reply::text("Busy done."),
            ))
            .times(1),
    );
    discord
        .user_says(ids::GENERAL, ids::CAROL, &mention("keep you busy"))
        .await;
    bot.openai
        .wait_for_request(|r| r.last_user_text().contains("busy"), WAIT)
        .await
        .expect("the first reply started");
    let mut last = 0;
    for text in ["first of three", "second of three", "third of three"] {
        last = message_id(
            &discord
                .user_says(ids::GENERAL, ids::ALICE, &mention(text))
                .await,
        );
    }
    discord
        .user_says(ids::GENERAL, ids::BOB, &mention("bob waits too"))
        .await;
    eventually("three answers", || async {
        (posts_to(discord, ids::GENERAL).len() >= 3).then_some(())
    })
    .await;
    let requests = bot.openai.chat_requests();
    let alice: Vec<_> = requests
        .iter()
        .filter(|r| r.last_user_text().contains("of three"))
        .collect();
    assert_eq!(alice.len(), 1, "Alice answered once");
    assert!(alice[0].last_user_text().contains("third of three"));
    let prompt = alice[0].prompt_text();
    assert!(prompt.contains("first of three") && prompt.contains("second of three"));
    let posts = posts_to(discord, ids::GENERAL);
    assert!(
        posts.iter().any(|p| replies_to(p) == Some(last)),
        "the latest is answered"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.last_user_text().contains("bob waits too"))
    );
    assert_eq!(requests.len(), 3, "busy, Alice once, Bob: {requests:#?}");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(one_members_mentions_are_answered_once);
