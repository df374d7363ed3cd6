//! Two servers, one bot: Alice is a member of both, Carol administers the first (GUILD),
//! Dave the second (OTHER_GUILD), and the application's owner is a bot owner. What one
//! server's admin writes, and what the bot learns in one server, stays in that server; the
//! base persona written by a bot owner shows in both.

use super::{refused, run};
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{spawn_bot, wait_for_posts};
use fakes::{Reply, Rule, ids, opt};
use personabot::domain::{GuildId, Metric, ServerMember, UserId};
use serde_json::json;

const STAMPS: &str = "collects stamps from Zanzibar";
const BASE_LINE: &str = "grew up in a lighthouse";
const B_LINE: &str = "speaks like a pirate in this server";

fn in_guild(guild: u64, user: u64) -> ServerMember {
    ServerMember::new(GuildId(guild), UserId(user))
}

/// The system and user text of the latest reply prompt that carries `marker`.
fn prompt_with(bot: &crate::support::TestBot, marker: &str) -> String {
    bot.openai
        .chat_requests()
        .into_iter()
        .rev()
        .map(|r| r.prompt_text())
        .find(|p| p.contains(marker))
        .unwrap_or_else(|| panic!("no prompt with {marker}"))
}

async fn servers_are_tenants(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database;
    bot.openai.set_default(Reply::text("Sure thing."));

    // A bot owner writes the base persona; a server admin may not.
    refused(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin persona add",
        json!([
            opt::integer("kind", 0),
            opt::string("content", "evil base"),
            opt::boolean("base", true)
        ]),
        "Only the bot's owners",
    )
    .await;
    let base = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin persona add",
        json!([
            opt::integer("kind", 1),
            opt::string("content", BASE_LINE),
            opt::boolean("base", true)
        ]),
    )
    .await;
    assert!(base.text().contains("(base)"), "{}", base.text());
    let base_id = personabot::store::persona::persona(db.reader(), None)
        .await
        .expect("persona")
        .entries[0]
        .id;

    // Dave adds to his server's layer; he cannot edit the base or reach Carol's server.
    let a = run(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin persona add",
        json!([opt::integer("kind", 3), opt::string("content", B_LINE)]),
    )
    .await;
    assert!(a.text().contains("(this server)"), "{}", a.text());
    refused(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin persona edit",
        json!([
            opt::integer("id", base_id),
            opt::string("content", "hijacked")
        ]),
        "There is no",
    )
    .await;

    // Carol teaches the bot a fact about Alice in the first server.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin memory add",
        json!([opt::user("member", ids::ALICE), opt::string("fact", STAMPS)]),
    )
    .await;
    assert!(a.text().contains(STAMPS), "{}", a.text());
    let stamps_id =
        crate::support::facts_of(db, in_guild(ids::GUILD, ids::ALICE), false).await[0].id;
    // Dave sees nothing of it, cannot delete it, and cannot name Bob (not his member).
    let list = run(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin memory list",
        json!([opt::user("member", ids::ALICE)]),
    )
    .await;
    assert!(!list.text().contains("Zanzibar"), "{}", list.text());
    assert!(
        list.text().contains("Nothing remembered"),
        "{}",
        list.text()
    );
    refused(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin memory delete",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("id", stamps_id)
        ]),
        "There is no",
    )
    .await;
    refused(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin memory list",
        json!([opt::user("member", ids::BOB)]),
        "not a member of this server",
    )
    .await;
    // Dave's relationship change is his server's only.
    run(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin relationship set",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("metric", 0),
            opt::integer("value", 9)
        ]),
    )
    .await;
    let rel = |guild| {
        personabot::store::relationships::relationship(db.reader(), in_guild(guild, ids::ALICE))
    };
    assert_eq!(
        rel(ids::OTHER_GUILD).await.expect("rel").get(Metric::Anger),
        9
    );
    assert_eq!(rel(ids::GUILD).await.expect("rel").get(Metric::Anger), 0);
    // Carol cannot turn the bot-wide mood either.
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona name",
        json!([opt::string("name", "Evil"), opt::boolean("base", true)]),
        "Only the bot's owners",
    )
    .await;

    // Dave renames the persona in his server.
    run(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "admin persona name",
        json!([opt::string("name", "Nova")]),
    )
    .await;

    // In the first server: the fact and the base persona, nothing of the second server.
    bot.openai
        .script(Rule::when_last_user_contains("first hello").reply(Reply::text("Hi A.")));
    bot.discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &format!("<@{}> first hello", ids::BOT),
        )
        .await;
    wait_for_posts(&bot.discord, ids::GENERAL, 1).await;
    let in_a = prompt_with(&bot, "first hello");
    assert!(in_a.contains("Zanzibar"), "A's fact in A's prompt: {in_a}");
    assert!(in_a.contains(BASE_LINE), "{in_a}");
    assert!(!in_a.contains("pirate"), "B's layer not in A: {in_a}");
    assert!(!in_a.contains("Nova"), "B's name not in A: {in_a}");

    // In the second server, addressed by its name there: base + layer, no fact from A.
    bot.openai
        .script(Rule::when_last_user_contains("second hello").reply(Reply::text("Hi B.")));
    bot.discord
        .user_says(ids::OTHER_GENERAL, ids::ALICE, "Nova, second hello")
        .await;
    let posts = wait_for_posts(&bot.discord, ids::OTHER_GENERAL, 1).await;
    assert_eq!(
        posts[0].content(),
        Some("Hi B."),
        "answers to its server's name"
    );
    let in_b = prompt_with(&bot, "second hello");
    assert!(!in_b.contains("Zanzibar"), "A's fact never in B: {in_b}");
    assert!(in_b.contains(BASE_LINE) && in_b.contains(B_LINE), "{in_b}");
    let system_b = bot
        .openai
        .chat_requests()
        .into_iter()
        .rev()
        .find(|r| r.prompt_text().contains("second hello"))
        .map(|r| r.system_text())
        .unwrap_or_default();
    assert!(system_b.contains("You are Nova"), "{system_b}");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(servers_are_tenants);
