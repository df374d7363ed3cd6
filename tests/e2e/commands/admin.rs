//! /admin: persona, relationships, memories and global state.

use super::{refused, run};
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, spawn_bot_with};
use fakes::{Reply, Rule, ids, opt};
use personabot::domain::{Metric, PersonaKind, Relationship};
use serde_json::json;

/// /admin: refused for members, persona CRUD with the edit in the very next prompt,
/// range-checked metrics, memories with autocomplete, global state, bad input.
async fn admin_commands(backend: Backend) {
    let admin_role = ids::MODERATOR_ROLE.to_string();
    let bot = spawn_bot_with(backend, &[("PERSONABOT__BOT__ADMIN_ROLE_ID", &admin_role)]).await;
    let db = &bot.app.database;
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "admin persona add",
        json!([opt::integer("kind", 0), opt::string("content", "evil")]),
        "Only this server's administrators",
    )
    .await;
    assert!(
        personabot::store::persona::persona(
            db.reader(),
            Some(personabot::domain::GuildId(ids::GUILD))
        )
        .await
        .expect("persona")
        .entries
        .is_empty()
    );

    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin persona add",
        json!([
            opt::integer("kind", 0),
            opt::string("content", "talks like a pirate")
        ]),
    )
    .await;
    assert!(
        a.ephemeral() && a.text().contains("talks like a pirate"),
        "{}",
        a.text()
    );
    let entry = personabot::store::persona::persona(
        db.reader(),
        Some(personabot::domain::GuildId(ids::GUILD)),
    )
    .await
    .expect("persona")
    .entries[0]
        .clone();
    assert_eq!(entry.kind, PersonaKind::Trait);
    // The admin role from settings (Carol is a Moderator) may administer too.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona edit",
        json!([
            opt::integer("id", entry.id),
            opt::string("content", "talks like a sea captain")
        ]),
    )
    .await;
    assert!(a.text().contains("sea captain"), "{}", a.text());
    let list = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona list",
        json!([]),
    )
    .await;
    assert!(
        list.text().contains(&format!(
            "`#{}` **trait** _(this server)_ talks like a sea captain",
            entry.id
        )),
        "{}",
        list.text()
    );
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona edit",
        json!([opt::integer("id", 999), opt::string("content", "x")]),
        "no persona entry with id 999",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona add",
        json!([
            opt::integer("kind", 1),
            opt::string("content", &"y".repeat(2001))
        ]),
        "the limit is 2000",
    )
    .await;
    assert_eq!(
        personabot::store::persona::persona(
            db.reader(),
            Some(personabot::domain::GuildId(ids::GUILD))
        )
        .await
        .expect("persona")
        .entries
        .len(),
        1
    );
    // The edit is in the next reply's prompt.
    bot.openai
        .script(Rule::any().reply(Reply::text("Arr, ahoy.")));
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, &format!("<@{}> hi", ids::BOT))
        .await;
    let chat = bot
        .openai
        .wait_for_request(|r| r.is_chat(), WAIT)
        .await
        .expect("a completion");
    let prompt = chat.prompt_text();
    assert!(
        prompt.contains("talks like a sea captain") && !prompt.contains("pirate"),
        "{prompt}"
    );

    // Relationship: out of range refused and nothing written; in range applied and logged.
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin relationship set",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("metric", 2),
            opt::integer("value", 11)
        ]),
        "Trust must be between 0 and 10, got 11",
    )
    .await;
    assert_eq!(
        personabot::store::relationships::relationship(
            db.reader(),
            crate::support::member(ids::ALICE)
        )
        .await
        .expect("rel"),
        Relationship::default()
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin relationship set",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("metric", 3),
            opt::integer("value", -4)
        ]),
    )
    .await;
    assert!(
        a.text().contains("formality with alice: 0 → **-4**"),
        "{}",
        a.text()
    );
    assert_eq!(
        personabot::store::relationships::relationship(
            db.reader(),
            crate::support::member(ids::ALICE)
        )
        .await
        .expect("rel")
        .get(Metric::Formality),
        -4
    );
    let show = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin relationship show",
        json!([opt::user("member", ids::ALICE)]),
    )
    .await;
    assert!(show.text().contains("formality: **-4**"), "{}", show.text());

    // Memories: add, autocomplete the id, edit, delete; another member's id is unknown.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory add",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("fact", "likes green tea"),
            opt::string("category", "preference")
        ]),
    )
    .await;
    assert!(a.text().contains("likes green tea"), "{}", a.text());
    let fact =
        crate::support::facts_of(db, crate::support::member(ids::ALICE), false).await[0].clone();
    let ac = bot.discord.autocomplete(ids::GENERAL, ids::OWNER, "admin memory delete", json!([opt::user("member", ids::ALICE), {"name": "id", "type": 4, "value": "gre", "focused": true}])).await;
    let path = format!("/interactions/{}/", ac.id);
    let choices = bot
        .discord
        .wait_for_request(|r| r.is("POST", &path), WAIT)
        .await
        .expect("autocomplete answered");
    let body = choices.body.expect("body");
    assert_eq!(body["type"], json!(8));
    assert_eq!(
        body["data"]["choices"][0]["value"],
        json!(fact.id),
        "{body}"
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory edit",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("id", fact.id),
            opt::string("fact", "likes jasmine tea")
        ]),
    )
    .await;
    assert!(
        a.text().contains("likes jasmine tea") && a.text().contains("preference"),
        "{}",
        a.text()
    );
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory delete",
        json!([opt::user("member", ids::BOB), opt::integer("id", fact.id)]),
        "no fact with id",
    )
    .await;
    let list = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory list",
        json!([opt::user("member", ids::ALICE)]),
    )
    .await;
    assert!(list.text().contains("likes jasmine tea"), "{}", list.text());
    run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory delete",
        json!([opt::user("member", ids::ALICE), opt::integer("id", fact.id)]),
    )
    .await;
    assert!(
        crate::support::facts_of(db, crate::support::member(ids::ALICE), true)
            .await
            .is_empty()
    );

    // Bot-wide state (the mood): only bot owners change it; server admins may read it.
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin state set",
        json!([
            opt::string("key", "daily_mood_energy"),
            opt::integer("value", 1),
            opt::boolean("bot-wide", true)
        ]),
        "Only the bot's owners",
    )
    .await;
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state set",
        json!([
            opt::string("key", "daily_mood_energy"),
            opt::integer("value", 7),
            opt::string("text", "buzzing"),
            opt::boolean("bot-wide", true)
        ]),
    )
    .await;
    assert!(
        a.text().contains("`daily_mood_energy` = **7** · “buzzing”"),
        "{}",
        a.text()
    );
    assert_eq!(
        personabot::store::global_state::global_get(
            db.reader(),
            personabot::domain::StateScope::BotWide,
            "daily_mood_energy"
        )
        .await
        .expect("get"),
        Some(7)
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin state get",
        json!([
            opt::string("key", "daily_mood_energy"),
            opt::boolean("bot-wide", true)
        ]),
    )
    .await;
    assert!(a.text().contains("**7**"), "{}", a.text());
    // A server key is the server admin's own, and not bot-wide.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin state set",
        json!([opt::string("key", "quiz_round"), opt::integer("value", 3)]),
    )
    .await;
    assert!(a.text().contains("`quiz_round` = **3**"), "{}", a.text());
    assert_eq!(
        personabot::store::global_state::global_get(
            db.reader(),
            personabot::domain::StateScope::BotWide,
            "quiz_round"
        )
        .await
        .expect("get"),
        None
    );
    let list = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state list",
        json!([opt::boolean("bot-wide", true)]),
    )
    .await;
    assert!(list.text().contains("daily_mood_energy"), "{}", list.text());
    assert!(!list.text().contains("quiz_round"), "{}", list.text());
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state set",
        json!([opt::string("key", "Bad Key!"), opt::integer("value", 1)]),
        "not a valid key",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state get",
        json!([opt::string("key", "nothing_here")]),
        "no key",
    )
    .await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(admin_commands);
