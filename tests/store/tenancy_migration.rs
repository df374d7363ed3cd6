//! The per-server tenancy migration, from a database made by the previous schema: nothing
//! lost, and each member's profile lands in their home server (most messages there, short
//! term and archive together; ties to the server of their earliest message; no server at
//! all: the direct-messages scope).

use crate::common::{Backend, TestDb};
use chrono::{DateTime, Duration, Utc};
use migration::{Migrator, MigratorTrait};
use personabot::domain::{ChannelId, ChannelPolicy, GuildId, Metric, ServerMember, UserId};
use personabot::store::{Store, StoreOptions};
use sea_orm::sea_query::{Alias, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// Migrations before the tenancy step.
const PREVIOUS_SCHEMA: u32 = 15;

const A: u64 = 2000;
const B: u64 = 2001;
const ALICE: u64 = 3000;
const BOB: u64 = 3001;
const CAROL: u64 = 3003;

async fn insert(db: &DatabaseConnection, table: &str, row: &[(&str, SimpleExpr)]) {
    let mut q = Query::insert();
    q.into_table(Alias::new(table))
        .columns(row.iter().map(|(c, _)| Alias::new(*c)))
        .values_panic(row.iter().map(|(_, v)| v.clone()));
    db.execute(&q)
        .await
        .unwrap_or_else(|e| panic!("seed {table}: {e}"));
}

fn at(t: DateTime<Utc>) -> SimpleExpr {
    t.into()
}

async fn message(
    db: &DatabaseConnection,
    table: &str,
    id: i64,
    guild: Option<u64>,
    author: u64,
    t: DateTime<Utc>,
) {
    let mut row = vec![
        ("message_id", id.into()),
        ("channel_id", (guild.map_or(9, |g| g as i64 + 100)).into()),
        ("guild_id", guild.map(|g| g as i64).into()),
        ("author_id", (author as i64).into()),
        ("author_name", format!("user{author}").into()),
        ("is_bot", false.into()),
        ("content", "hello there friends".into()),
        ("reply_to", Option::<i64>::None.into()),
        ("created_at", at(t)),
        ("edited_at", Option::<DateTime<Utc>>::None.into()),
    ];
    if table == "archived_messages" {
        row.push(("archived_at", at(t)));
    }
    insert(db, table, &row).await;
}

async fn fact(db: &DatabaseConnection, user: u64, text: &str, t: DateTime<Utc>) {
    insert(
        db,
        "memory_facts",
        &[
            ("user_id", (user as i64).into()),
            ("fact", text.into()),
            ("category", "general".into()),
            ("first_mentioned_at", at(t)),
            ("last_mentioned_at", at(t)),
            ("reference_count", 3.into()),
        ],
    )
    .await;
}

/// A database as the previous schema left it, with members spread over two servers.
async fn seed_previous_schema(url: &str, t: DateTime<Utc>) {
    let db = Database::connect(url).await.expect("connect");
    Migrator::up(&db, Some(PREVIOUS_SCHEMA))
        .await
        .expect("previous schema");
    // Alice: 2 messages in A (short term), 3 in B (archive): home B.
    message(&db, "short_term_messages", 1, Some(A), ALICE, t).await;
    message(&db, "short_term_messages", 2, Some(A), ALICE, t).await;
    for id in [3, 4, 5] {
        message(&db, "archived_messages", id, Some(B), ALICE, t).await;
    }
    // Bob: one in each; his earliest (smaller snowflake) is in A: home A.
    message(&db, "short_term_messages", 10, Some(A), BOB, t).await;
    message(&db, "short_term_messages", 50, Some(B), BOB, t).await;
    // Carol: direct messages only: the direct-messages scope.
    message(&db, "short_term_messages", 60, None, CAROL, t).await;
    fact(&db, ALICE, "plays the cello", t).await;
    fact(&db, ALICE, "lives in Bergen", t).await;
    fact(&db, BOB, "likes chess", t).await;
    fact(&db, CAROL, "is learning Rust", t).await;
    let metrics = |user: u64, trust: i16| -> Vec<(&'static str, SimpleExpr)> {
        vec![
            ("user_id", (user as i64).into()),
            ("anger", 1i16.into()),
            ("rapport", 7i16.into()),
            ("trust", trust.into()),
            ("formality", (-2i16).into()),
            ("updated_at", at(t)),
        ]
    };
    insert(&db, "relationships", &metrics(ALICE, 9)).await;
    insert(&db, "relationships", &metrics(CAROL, 2)).await;
    insert(
        &db,
        "relationship_events",
        &[
            ("user_id", (ALICE as i64).into()),
            ("metric", "trust".into()),
            ("old_value", 5i16.into()),
            ("new_value", 9i16.into()),
            ("reason", "kept a secret".into()),
            ("created_at", at(t)),
        ],
    )
    .await;
    insert(
        &db,
        "persona_entries",
        &[
            ("kind", "trait".into()),
            ("content", "dry sense of humour".into()),
            ("created_at", at(t)),
            ("updated_at", at(t)),
        ],
    )
    .await;
    for (key, value, text) in [
        ("daily_mood_energy", 7i64, None),
        ("status_line", 0, Some("watching the rain")),
    ] {
        insert(
            &db,
            "global_state",
            &[
                ("key", key.into()),
                ("value", value.into()),
                ("text_value", text.map(str::to_owned).into()),
                ("updated_at", at(t)),
            ],
        )
        .await;
    }
    insert(
        &db,
        "guild_settings",
        &[
            ("guild_id", (A as i64).into()),
            ("bot_enabled", false.into()),
            ("updated_at", at(t)),
        ],
    )
    .await;
    db.close().await.expect("close");
}

fn member(guild: u64, user: u64) -> ServerMember {
    ServerMember::new(GuildId(guild), UserId(user))
}

async fn fact_texts(store: &Store, guild: u64, user: u64) -> Vec<String> {
    let mut texts: Vec<String> = personabot::store::facts::facts_of_member(
        store.reader(),
        member(guild, user),
        true,
        store.embedding_model(),
    )
    .await
    .expect("facts")
    .into_iter()
    .map(|f| f.fact)
    .collect();
    texts.sort();
    texts
}

async fn carries_everything_forward(backend: Backend) {
    let t = Utc::now() - Duration::days(2);
    let db = TestDb::new(backend).await;
    seed_previous_schema(&db.url, t).await;
    // Store::connect applies the tenancy migration, as the bot does on start-up.
    let store = Store::connect(&db.url, StoreOptions::default())
        .await
        .expect("migrate and connect");

    assert_eq!(
        fact_texts(&store, B, ALICE).await,
        ["lives in Bergen", "plays the cello"]
    );
    assert!(
        fact_texts(&store, A, ALICE).await.is_empty(),
        "not copied to A"
    );
    assert_eq!(fact_texts(&store, A, BOB).await, ["likes chess"]);
    assert!(fact_texts(&store, B, BOB).await.is_empty());
    assert_eq!(fact_texts(&store, 0, CAROL).await, ["is learning Rust"]);
    let kept = personabot::store::facts::facts_of_member(
        store.reader(),
        member(B, ALICE),
        true,
        store.embedding_model(),
    )
    .await
    .expect("facts");
    assert!(kept.iter().all(|f| f.reference_count == 3), "counts kept");

    let alice_b = personabot::store::relationships::relationship(store.reader(), member(B, ALICE))
        .await
        .expect("rel");
    assert_eq!(
        (alice_b.get(Metric::Trust), alice_b.get(Metric::Rapport)),
        (9, 7)
    );
    assert_eq!(alice_b.get(Metric::Formality), -2);
    assert_eq!(
        personabot::store::relationships::relationship(store.reader(), member(A, ALICE))
            .await
            .expect("rel"),
        Default::default(),
        "another server starts neutral"
    );
    assert_eq!(
        personabot::store::relationships::relationship(store.reader(), member(0, CAROL))
            .await
            .expect("rel")
            .get(Metric::Trust),
        2
    );
    let events =
        personabot::store::relationships::relationship_events(store.reader(), member(B, ALICE), 10)
            .await
            .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].change.reason, "kept a secret");

    // The old persona is the base every server sees; state is bot-wide.
    let base = personabot::store::persona::persona(store.reader(), None)
        .await
        .expect("persona");
    assert_eq!(base.entries.len(), 1);
    assert_eq!(base.entries[0].guild_id, None);
    assert_eq!(
        personabot::store::persona::persona(store.reader(), Some(GuildId(A)))
            .await
            .expect("persona")
            .entries,
        base.entries
    );
    assert_eq!(
        personabot::store::global_state::mood(store.reader())
            .await
            .expect("mood")
            .get("daily_mood_energy"),
        Some(&7)
    );
    assert_eq!(
        personabot::store::global_state::global_text(
            store.reader(),
            personabot::domain::StateScope::BotWide,
            "status_line"
        )
        .await
        .expect("status"),
        Some("watching the rain".to_owned())
    );
    // Server settings keep their values; memory is on by default.
    let policy = personabot::store::settings::channel_policy(
        store.reader(),
        Some(GuildId(A)),
        ChannelId(1),
        ChannelPolicy::default(),
    )
    .await
    .expect("policy");
    assert!(!policy.bot_enabled);
    assert!(
        personabot::store::users::remembers(store.reader(), member(A, ALICE))
            .await
            .expect("switch")
    );
    // Nothing else changed: the messages are where they were.
    assert_eq!(
        personabot::store::export::export_snapshot(store.reader(), UserId(ALICE))
            .await
            .expect("export")
            .servers
            .len(),
        2
    );
}

mod previous_schema_carried_forward {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        carries_everything_forward(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        carries_everything_forward(Backend::Postgres).await;
    }
}
