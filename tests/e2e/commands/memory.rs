//! /memory: a member's own data.

use super::{refused, run};
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::spawn_bot;
use fakes::{ids, opt};
use personabot::domain::{NewFact, UserId};
use serde_json::{Value, json};

/// /memory show|forget|forget-all|export: a member's own data, ephemerally.
async fn memory_commands(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database;
    let now = chrono::Utc::now();
    let fact = |user: u64, text: &str| NewFact {
        guild_id: personabot::domain::GuildId(fakes::world::ids::GUILD),
        user_id: UserId(user),
        fact: text.into(),
        category: "hobby".into(),
        embedding: None,
    };
    let tea = personabot::store::facts::insert_fact(
        db.writer(),
        &fact(ids::ALICE, "brews tea"),
        db.embedding_model(),
        now,
    )
    .await
    .expect("fact");
    personabot::store::facts::insert_fact(
        db.writer(),
        &fact(ids::ALICE, "climbs rocks"),
        db.embedding_model(),
        now,
    )
    .await
    .expect("fact");
    let bobs = personabot::store::facts::insert_fact(
        db.writer(),
        &fact(ids::BOB, "plays oboe"),
        db.embedding_model(),
        now,
    )
    .await
    .expect("fact");

    let show = run(&bot, ids::GENERAL, ids::ALICE, "memory show", json!([])).await;
    assert!(show.ephemeral());
    assert!(
        show.text().contains("brews tea")
            && show.text().contains("climbs rocks")
            && !show.text().contains("oboe"),
        "{}",
        show.text()
    );

    let export = run(&bot, ids::GENERAL, ids::ALICE, "memory export", json!([])).await;
    assert!(export.ephemeral());
    let (name, bytes) = export
        .request
        .files
        .first()
        .cloned()
        .expect("a JSON attachment");
    assert!(name.ends_with(".json"), "{name}");
    let data: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(data["user_id"], json!(ids::ALICE));
    assert_eq!(data["servers"][0]["guild_id"], json!(ids::GUILD));
    assert_eq!(
        data["servers"][0]["facts"].as_array().map(Vec::len),
        Some(2)
    );

    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget",
        json!([opt::integer("id", bobs.id)]),
        "no fact with id",
    )
    .await;
    assert_eq!(
        crate::support::facts_of(db, crate::support::member(ids::BOB), false)
            .await
            .len(),
        1,
        "bob's fact untouched"
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget",
        json!([opt::integer("id", tea.id)]),
    )
    .await;
    assert!(
        a.ephemeral() && a.text().contains("deleted"),
        "{}",
        a.text()
    );
    assert_eq!(
        crate::support::facts_of(db, crate::support::member(ids::ALICE), false)
            .await
            .len(),
        1
    );
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget-all",
        json!([]),
        "confirm:yes",
    )
    .await;
    let a = run(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget-all",
        json!([opt::string("confirm", "yes")]),
    )
    .await;
    assert!(
        a.text().contains("Deleted in every server: 1 fact(s)")
            && a.text().contains("Kept: moderation cases"),
        "{}",
        a.text()
    );
    assert!(
        crate::support::facts_of(db, crate::support::member(ids::ALICE), true)
            .await
            .is_empty()
    );
    assert_eq!(
        crate::support::facts_of(db, crate::support::member(ids::BOB), false)
            .await
            .len(),
        1
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(memory_commands);
