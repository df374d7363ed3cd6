//! `/memory forget-all` erases a member everywhere, and nothing comes back. The check walks
//! the live schema (every table, every column that names a member or holds text), so a
//! table added later cannot be forgotten: it fails here until it is erased too, or listed
//! below as a server's own record.

use super::run;
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, eventually, logged, spawn_bot, wait_for_posts};
use fakes::{Reply, Rule, ids, opt};
use personabot::domain::{GuildId, Metric, ServerMember, UserId};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

/// Said by Alice only: any row holding it is about her.
const MARKER: &str = "quokka-7731";

/// Server records kept on purpose (the reply says so): moderation cases and tickets.
const KEPT: &[&str] = &["modlog_cases", "tickets", "seaql_migrations"];

/// Columns that name a member.
const MEMBER_COLUMNS: &[&str] = &["user_id", "author_id", "target_id"];

async fn rows(db: &impl ConnectionTrait, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// (table, column, is text) for every table of the bot.
async fn schema(db: &impl ConnectionTrait) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            for t in rows(
                db,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .await
            {
                let table: String = t.try_get("", "name").expect("name");
                for c in rows(db, &format!("PRAGMA table_info(\"{table}\")")).await {
                    let column: String = c.try_get("", "name").expect("column");
                    let kind: String = c.try_get("", "type").expect("type");
                    let text = kind.to_lowercase().contains("text")
                        || kind.to_lowercase().contains("char");
                    out.push((table.clone(), column, text));
                }
            }
        }
        _ => {
            for c in rows(
                db,
                "SELECT table_name, column_name, data_type FROM information_schema.columns \
                 WHERE table_schema = 'public'",
            )
            .await
            {
                let table: String = c.try_get("", "table_name").expect("table");
                let column: String = c.try_get("", "column_name").expect("column");
                let kind: String = c.try_get("", "data_type").expect("type");
                out.push((
                    table,
                    column,
                    kind.contains("text") || kind.contains("char"),
                ));
            }
        }
    }
    out
}

/// Every (table, column) still holding something of Alice's.
async fn traces_of_alice(db: &impl ConnectionTrait) -> Vec<String> {
    let mut found = Vec::new();
    for (table, column, text) in schema(db).await {
        if KEPT.contains(&table.as_str()) {
            continue;
        }
        let condition = if MEMBER_COLUMNS.contains(&column.as_str()) {
            format!("\"{column}\" = {}", ids::ALICE)
        } else if table == "users" && column == "id" {
            format!("\"id\" = {}", ids::ALICE)
        } else if text {
            format!("\"{column}\" LIKE '%{MARKER}%'")
        } else {
            continue;
        };
        let sql = format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE {condition}");
        let n: i64 = rows(db, &sql).await[0].try_get("", "n").expect("count");
        if n > 0 {
            found.push(format!("{table}.{column}: {n}"));
        }
    }
    found
}

fn in_guild(guild: u64) -> ServerMember {
    ServerMember::new(GuildId(guild), UserId(ids::ALICE))
}

async fn forget_all_leaves_nothing(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database.clone();
    bot.openai.set_default(Reply::text("Noted!"));
    // The nightly run would learn a fact from her messages, in each server.
    bot.openai.script(
        Rule::when(|r| {
            r.system_text().contains("pick out durable facts about")
                && r.user_text().contains(MARKER)
        })
        .reply(Reply::json(json!({"facts": [
            {"fact": format!("keeps a pet called {MARKER}"), "category": "pets"}
        ]}))),
    );

    // Alice talks in both servers; the bot answers, learns, and judges her in each.
    for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
        bot.discord
            .user_says(
                channel,
                ids::ALICE,
                &format!("<@{}> my pet is called {MARKER}, say hi", ids::BOT),
            )
            .await;
        wait_for_posts(&bot.discord, channel, 1).await;
    }
    for guild in [ids::GUILD, ids::OTHER_GUILD] {
        personabot::store::relationships::set_metric(
            db.writer(),
            in_guild(guild),
            Metric::Rapport,
            8,
            "nice chat",
            chrono::Utc::now(),
        )
        .await
        .expect("metric");
    }
    eventually("both messages logged", || async {
        let a = logged(&bot, ids::GENERAL).await;
        let b = logged(&bot, ids::OTHER_GENERAL).await;
        (a.iter().any(|m| m.content.contains(MARKER))
            && b.iter().any(|m| m.content.contains(MARKER)))
        .then_some(())
    })
    .await;
    let report = bot
        .app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("consolidator answers")
        .expect("run succeeds");
    assert!(report.facts_added >= 2, "{report:?}");
    // More of her messages, still in the short-term log.
    bot.discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &format!("{MARKER} says hello again"),
        )
        .await;
    eventually("the newest message logged", || async {
        logged(&bot, ids::GENERAL)
            .await
            .iter()
            .any(|m| m.content.contains("hello again"))
            .then_some(())
    })
    .await;

    // The export lists everything, server by server.
    let export = run(&bot, ids::GENERAL, ids::ALICE, "memory export", json!([])).await;
    let (_, bytes) = export.request.files.first().cloned().expect("a JSON file");
    let data: Value = serde_json::from_slice(&bytes).expect("JSON");
    let servers = data["servers"].as_array().cloned().unwrap_or_default();
    let of = |guild: u64| {
        servers
            .iter()
            .find(|s| s["guild_id"] == json!(guild))
            .cloned()
            .unwrap_or(Value::Null)
    };
    for guild in [ids::GUILD, ids::OTHER_GUILD] {
        let s = of(guild);
        assert_eq!(s["facts"].as_array().map(Vec::len), Some(1), "{s}");
        assert!(!s["relationship"].is_null(), "{s}");
        assert!(
            !s["archived_messages"].as_array().is_none_or(Vec::is_empty),
            "{s}"
        );
    }
    assert!(!traces_of_alice(db.reader()).await.is_empty());

    let a = run(
        &bot,
        ids::OTHER_GENERAL,
        ids::ALICE,
        "memory forget-all",
        json!([opt::string("confirm", "yes")]),
    )
    .await;
    assert!(a.text().contains("Kept: moderation cases"), "{}", a.text());
    // Another nightly run finds nothing of hers to learn from.
    bot.app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("consolidator answers")
        .expect("run succeeds");
    let left = traces_of_alice(db.reader()).await;
    assert!(
        left.is_empty(),
        "rows about Alice after forget-all: {left:?}"
    );
    // The export is empty now; the other members' data is untouched.
    let export = personabot::store::export::export_snapshot(db.reader(), UserId(ids::ALICE))
        .await
        .expect("export");
    assert!(export.is_empty(), "{export:?}");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(forget_all_leaves_nothing);

/// `/memory off` (a member, every server) and `/bot memory off` (a whole server): their
/// messages are still logged for the conversation, but the nightly run never shows them to
/// the model and deletes them instead of archiving; everyone else is remembered as before.
async fn memory_off_is_honoured(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database.clone();
    bot.openai.set_default(Reply::text("Nice."));
    bot.openai.script(
        Rule::when(|r| r.system_text().contains("pick out durable facts about")).reply(
            Reply::json(json!({"facts": [{"fact": "enjoys the outdoors", "category": "hobby"}]})),
        ),
    );
    let a = run(&bot, ids::GENERAL, ids::ALICE, "memory off", json!([])).await;
    assert!(a.text().contains("not remember you"), "{}", a.text());
    let a = run(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "bot memory",
        json!([opt::integer("state", 1)]),
    )
    .await;
    assert!(a.text().contains("Memory off"), "{}", a.text());

    let said = [
        (
            ids::GENERAL,
            ids::ALICE,
            format!("I hike with my dog {MARKER} every weekend"),
        ),
        (
            ids::GENERAL,
            ids::BOB,
            "I go hiking in the alps every weekend".to_owned(),
        ),
        (
            ids::OTHER_GENERAL,
            ids::OTHER_OWNER,
            "I sail my small boat every weekend".to_owned(),
        ),
    ];
    for (channel, user, text) in &said {
        bot.discord.user_says(*channel, *user, text).await;
    }
    eventually("all three logged for the conversation", || async {
        let a = logged(&bot, ids::GENERAL).await;
        let b = logged(&bot, ids::OTHER_GENERAL).await;
        (a.len() >= 2 && !b.is_empty()).then_some(())
    })
    .await;
    let report = bot
        .app
        .consolidator
        .run_now(WAIT)
        .await
        .expect("consolidator answers")
        .expect("run succeeds");
    let extractions: Vec<String> = bot
        .openai
        .chat_requests()
        .into_iter()
        .filter(|r| r.system_text().contains("pick out durable facts about"))
        .map(|r| r.user_text())
        .collect();
    assert_eq!(extractions.len(), 1, "only Bob is read: {extractions:?}");
    assert!(extractions[0].contains("alps"), "{extractions:?}");
    let facts = |guild, user| {
        personabot::store::facts::facts_of_member(
            db.reader(),
            ServerMember::new(GuildId(guild), UserId(user)),
            true,
            db.embedding_model(),
        )
    };
    assert_eq!(facts(ids::GUILD, ids::BOB).await.expect("facts").len(), 1);
    assert!(
        facts(ids::GUILD, ids::ALICE)
            .await
            .expect("facts")
            .is_empty()
    );
    assert!(
        facts(ids::OTHER_GUILD, ids::OTHER_OWNER)
            .await
            .expect("facts")
            .is_empty()
    );
    // Their messages are gone, not archived; Bob's are archived.
    let export = |user| personabot::store::export::export_snapshot(db.reader(), UserId(user));
    let alice = export(ids::ALICE).await.expect("export");
    assert!(
        alice
            .servers
            .iter()
            .all(|s| s.messages.is_empty() && s.archived_messages.is_empty()),
        "{alice:?}"
    );
    let owner = export(ids::OTHER_OWNER).await.expect("export");
    assert!(
        owner
            .servers
            .iter()
            .all(|s| s.messages.is_empty() && s.archived_messages.is_empty()),
        "{owner:?}"
    );
    let bob = export(ids::BOB).await.expect("export");
    let bob_here = bob
        .servers
        .iter()
        .find(|s| s.guild_id == Some(GuildId(ids::GUILD)))
        .expect("Bob's server");
    assert_eq!(bob_here.archived_messages.len(), 1, "{bob:?}");
    assert_eq!(report.facts_added, 1, "{report:?}");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(memory_off_is_honoured);
