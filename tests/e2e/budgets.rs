//! Bounded cost: daily token budgets (a member's, a server's), counted in the database from
//! the usage the model server reports; the embedding model missing on the model server;
//! the day's mood and status from the very first start.
//!
//! A budget is reset the way midnight does it: today's usage rows become another day's.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{TestBot, WAIT, eventually, logged, posts_to, spawn_bot_with, wait_for_posts};
use entity::token_usage;
use fakes::{OpenAiRequest, Reply, Rule, ids};
use personabot::domain::{GuildId, ServerMember, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const ANSWER: &str = "Happy to help with that.";

fn mention(text: &str) -> String {
    format!("<@{}> {text}", ids::BOT)
}

/// Chat requests answering `text` (the member's message as the last user turn; other
/// replies carry it in their transcript).
fn calls_with(bot: &TestBot, text: &str) -> usize {
    bot.openai
        .chat_requests()
        .iter()
        .filter(|r| r.last_user_text().contains(text))
        .count()
}

/// Midnight: every usage row so far belongs to a past day (once written: a reply's spend
/// is cast to the store's write lane, so flushing it lands what was sent before).
async fn new_day(bot: &TestBot) {
    bot.app.store.flush().await.expect("flush");
    token_usage::Entity::update_many()
        .col_expr(token_usage::Column::Day, Expr::value("2000-01-01"))
        .exec(bot.app.database.writer())
        .await
        .expect("move the usage rows to a past day");
}

/// Waits until `text` from `user` is in the channel's log (so its reply job is queued).
async fn wait_logged(bot: &TestBot, channel: u64, text: &str) {
    eventually(&format!("`{text}` logged"), || async {
        logged(bot, channel)
            .await
            .into_iter()
            .any(|m| m.content.contains(text))
            .then_some(())
    })
    .await;
}

/// A member's budget (1 token: one call spends it). The first call is made; the next
/// mention gets one in-character notice, later ones nothing and no model call; another
/// member in the same channel and the same member in the other server are still answered;
/// the next day the member is answered again. The rows count the member, the server and
/// the bot.
async fn a_spent_member_budget_is_announced_once(backend: Backend) {
    let bot = spawn_bot_with(backend, &[("PERSONABOT__BUDGET__MEMBER_DAILY_TOKENS", "1")]).await;
    bot.openai.set_default(Reply::text(ANSWER));
    let discord = &bot.discord;

    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &mention("first question about tea"),
        )
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 1).await;
    assert_eq!(posts[0].content(), Some(ANSWER));

    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &mention("second question about tea"),
        )
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 2).await;
    let notice = posts[1].content().expect("a text notice").to_owned();
    assert_ne!(notice, ANSWER);
    assert!(
        notice.contains("today") && notice.contains("tomorrow"),
        "an in-character member notice: {notice}"
    );

    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &mention("third question about tea"),
        )
        .await;
    wait_logged(&bot, ids::GENERAL, "third question about tea").await;
    // Bob's mention queues behind Alice's third in the same channel: once he is answered,
    // her third was handled, silently.
    discord
        .user_says(ids::GENERAL, ids::BOB, &mention("bob asks about coffee"))
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 3).await;
    assert_eq!(posts[2].content(), Some(ANSWER), "Bob has his own budget");
    // The member budget is per server: Alice is answered in the other one.
    discord
        .user_says(
            ids::OTHER_GENERAL,
            ids::ALICE,
            &mention("other server question"),
        )
        .await;
    let other = wait_for_posts(discord, ids::OTHER_GENERAL, 1).await;
    assert_eq!(other[0].content(), Some(ANSWER));

    assert_eq!(
        posts_to(discord, ids::GENERAL).len(),
        3,
        "exactly one notice"
    );
    assert_eq!(calls_with(&bot, "second question about tea"), 0);
    assert_eq!(calls_with(&bot, "third question about tea"), 0);
    assert_eq!(calls_with(&bot, "first question about tea"), 1);

    // Counted in the database, per scope: the bot, each server, each member in a server
    // (the last reply's spend was cast to the write lane as it was sent: flush it).
    bot.app.store.flush().await.expect("flush");
    let db = &bot.app.database;
    let day = personabot::domain::spend::day_of(chrono::Utc::now());
    let alice_here = personabot::domain::spend::SpendScope::Member(ServerMember::new(
        GuildId(ids::GUILD),
        UserId(ids::ALICE),
    ));
    let spent = personabot::store::usage::spend_on(db.reader(), &day, &[alice_here])
        .await
        .expect("read the spend");
    assert_eq!(spent.len(), 1);
    assert_eq!(
        spent[0].1.usage.requests, 1,
        "one call charged to Alice here"
    );
    assert!(spent[0].1.noticed);
    let (global, server) =
        personabot::store::usage::server_spend(db.reader(), &day, GuildId(ids::GUILD))
            .await
            .expect("read the spend");
    assert_eq!(
        server.usage.requests, 2,
        "Alice's and Bob's replies in the server"
    );
    assert_eq!(global.usage.requests, 3, "and Alice's in the other server");
    assert!(server.tokens() > 0 && global.tokens() > server.tokens());

    // Midnight: Alice is answered again.
    new_day(&bot).await;
    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &mention("fourth question about tea"),
        )
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 4).await;
    assert_eq!(posts[3].content(), Some(ANSWER));
    assert_eq!(calls_with(&bot, "fourth question about tea"), 1);
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_spent_member_budget_is_announced_once);

fn is_extraction(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("pick out durable facts about")
}

/// `/bot status` as the first server's admin: the interaction answer's JSON, as text.
async fn bot_status(bot: &TestBot) -> String {
    let handle = bot
        .discord
        .slash_command(ids::GENERAL, ids::CAROL, "bot status", json!([]))
        .await;
    let path = format!("/interactions/{}/", handle.id);
    let request = bot
        .discord
        .wait_for_request(|r| r.is("POST", &path), WAIT)
        .await
        .expect("/bot status answered");
    request.body.clone().unwrap_or(Value::Null).to_string()
}

/// A server's budget: once spent, nobody there is answered (one notice), and neither is
/// the nightly consolidation of its members made, while the other server is still
/// answered and consolidated; `/bot status` shows the spend; the next day it speaks again.
async fn a_spent_server_budget_stops_only_that_server(backend: Backend) {
    let bot = spawn_bot_with(backend, &[("PERSONABOT__BUDGET__SERVER_DAILY_TOKENS", "1")]).await;
    bot.openai.set_default(Reply::text(ANSWER));
    let discord = &bot.discord;

    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &mention("what do you think of jazz music"),
        )
        .await;
    wait_for_posts(discord, ids::GENERAL, 1).await;
    discord
        .user_says(
            ids::GENERAL,
            ids::BOB,
            &mention("bob wonders about rock music"),
        )
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 2).await;
    let notice = posts[1].content().expect("a text notice").to_owned();
    assert!(notice.contains("tomorrow") && notice != ANSWER, "{notice}");

    discord
        .user_says(
            ids::OTHER_GENERAL,
            ids::ALICE,
            &mention("the other server likes folk music"),
        )
        .await;
    let other = wait_for_posts(discord, ids::OTHER_GENERAL, 1).await;
    assert_eq!(
        other[0].content(),
        Some(ANSWER),
        "the other server is still answered"
    );

    discord
        .user_says(
            ids::GENERAL,
            ids::CAROL,
            &mention("carol asks about opera music"),
        )
        .await;
    wait_logged(&bot, ids::GENERAL, "carol asks about opera music").await;
    // Lets every channel finish what it was doing (Carol's mention included).
    bot.app.router.drain_channels().await.expect("drain");
    assert_eq!(
        posts_to(discord, ids::GENERAL).len(),
        2,
        "exactly one notice"
    );
    assert_eq!(calls_with(&bot, "bob wonders about rock music"), 0);
    assert_eq!(calls_with(&bot, "carol asks about opera music"), 0);

    let status = bot_status(&bot).await;
    assert!(
        status.contains("spent until midnight UTC") && status.contains("of 1 ("),
        "{status}"
    );

    // Consolidation counts too: the first server's members are not extracted today, the
    // other server's are (its budget, spent by its one answer, is given back first, once
    // that answer's spend is written).
    bot.app.store.flush().await.expect("flush");
    token_usage::Entity::delete_many()
        .filter(token_usage::Column::GuildId.eq(i64::try_from(ids::OTHER_GUILD).expect("id")))
        .exec(bot.app.database.writer())
        .await
        .expect("reset the other server's usage");
    bot.app.store.flush().await.expect("flush");
    bot.app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("consolidator answers")
        .expect("the run finishes");
    let extractions: Vec<String> = bot
        .openai
        .chat_requests()
        .into_iter()
        .filter(is_extraction)
        .map(|r| r.user_text())
        .collect();
    assert_eq!(extractions.len(), 1, "{extractions:?}");
    assert!(extractions[0].contains("folk music"), "{extractions:?}");

    new_day(&bot).await;
    discord
        .user_says(
            ids::GENERAL,
            ids::CAROL,
            &mention("carol asks again tomorrow"),
        )
        .await;
    let posts = wait_for_posts(discord, ids::GENERAL, 3).await;
    assert_eq!(posts[2].content(), Some(ANSWER));
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_spent_server_budget_stops_only_that_server);

/// The configured embedding model is missing on the model server (Ollama answers 404
/// until it is pulled): facts are still extracted and stored, matched lexically, and the
/// run stops asking the embeddings endpoint after the first 404 (one warning), instead of
/// failing every member.
async fn a_missing_embedding_model_falls_back_to_lexical_matching(backend: Backend) {
    let bot = spawn_bot_with(backend, &[]).await;
    bot.openai.script(
        Rule::when(|r: &OpenAiRequest| r.is_embeddings()).reply(Reply::status(
            404,
            "model \"text-embedding-3-small\" not found, try pulling it first",
        )),
    );
    bot.openai.script(
        Rule::when(|r: &OpenAiRequest| is_extraction(r) && r.user_text().contains("alice")).reply(
            Reply::json(json!({"facts": [
                {"fact": "keeps bees on her balcony", "category": "hobby"}
            ]})),
        ),
    );
    bot.openai.script(
        Rule::when(|r: &OpenAiRequest| is_extraction(r) && r.user_text().contains("bob")).reply(
            Reply::json(json!({"facts": [
                {"fact": "restores old motorbikes", "category": "hobby"}
            ]})),
        ),
    );
    bot.openai.set_default(Reply::text(ANSWER));
    let discord = &bot.discord;
    discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            "my bees made so much honey this summer",
        )
        .await;
    discord
        .user_says(
            ids::GENERAL,
            ids::BOB,
            "spent the weekend fixing an old motorbike engine",
        )
        .await;
    eventually("both messages logged", || async {
        (logged(&bot, ids::GENERAL).await.len() >= 2).then_some(())
    })
    .await;

    let report = bot
        .app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("consolidator answers")
        .expect("the run finishes");
    assert_eq!(report.users_done, 2, "{report:?}");
    assert_eq!(report.facts_added, 2, "{report:?}");
    for (user, fact) in [
        (ids::ALICE, "keeps bees on her balcony"),
        (ids::BOB, "restores old motorbikes"),
    ] {
        let facts =
            crate::support::facts_of(&bot.app.database, crate::support::member(user), false).await;
        assert_eq!(
            facts.iter().map(|f| f.fact.as_str()).collect::<Vec<_>>(),
            vec![fact]
        );
        assert!(facts[0].embedding.is_none());
    }
    // Members are prepared concurrently: those already asking when the first 404 came back
    // get theirs too; after that the run stops asking (and warns once).
    let asked = bot.openai.embedding_requests().len();
    assert!((1..=2).contains(&asked), "embeddings asked {asked} times");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_missing_embedding_model_falls_back_to_lexical_matching);

/// A fresh install has a mood and a status line as soon as it starts (the nightly run is
/// hours away), shown as the bot's presence, and no model call was needed for them.
async fn a_fresh_start_has_a_mood_and_a_status(backend: Backend) {
    let bot = spawn_bot_with(backend, &[]).await;
    let db = &bot.app.database;
    let mood = personabot::store::global_state::mood(db.reader())
        .await
        .expect("mood");
    assert!(!mood.is_empty(), "a mood from the first start");
    let status = personabot::store::global_state::global_text(
        db.reader(),
        personabot::domain::StateScope::BotWide,
        personabot::domain::mood::STATUS_KEY,
    )
    .await
    .expect("read")
    .expect("a status line from the first start");
    bot.discord
        .wait_for_gateway(
            |v| {
                v["op"] == 3
                    && v["d"]["activities"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|a| a["state"] == status.as_str()))
            },
            WAIT,
        )
        .await
        .expect("the status shown as presence");
    assert!(
        bot.openai.chat_requests().is_empty(),
        "no model call at start"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(a_fresh_start_has_a_mood_and_a_status);
