//! Round trips through the real store, each on a fresh SQLite file and a fresh PostgreSQL
//! database (`both_backends!`), plus SQLite-only checks of the connection setup.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use personabot::domain::{
    ChannelId, ChannelPolicy, GuildId, LoggedMessage, MessageId, Metric, NewFact, PersonaKind,
    Relationship, RelationshipChange, RelationshipError, UserId,
};
use personabot::store::{
    ModAction, ProactiveKind, RunStats, Store, StoreError, StoreOptions, TicketStatus,
};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

fn t0() -> DateTime<Utc> {
    // Sub-microsecond digits on purpose: the store must round-trip what it returns.
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid date")
        + Duration::nanoseconds(123_456_789)
}

fn msg(id: u64, channel: u64, author: u64, at: DateTime<Utc>, content: &str) -> LoggedMessage {
    LoggedMessage {
        id: MessageId(id),
        channel_id: ChannelId(channel),
        guild_id: Some(GuildId(1)),
        author_id: UserId(author),
        author_name: format!("user{author}"),
        is_bot: false,
        content: content.to_owned(),
        reply_to: None,
        created_at: at,
    }
}

fn fact(user: u64, text: &str) -> NewFact {
    NewFact {
        user_id: UserId(user),
        fact: text.to_owned(),
        category: "general".to_owned(),
        embedding: None,
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    let backend = store.writer().get_database_backend();
    let row = store
        .reader()
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("count query")
        .expect("one row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

both_backends!(connect_ping_and_reconnect, |store, db| async move {
    store.ping().await.expect("ping");
    store
        .global_set("boot_count", 1, t0())
        .await
        .expect("write");
    // Migrations are idempotent: a second Store on the same database sees the data.
    let again = Store::connect(&db.url, StoreOptions::default())
        .await
        .expect("reconnect");
    assert_eq!(again.global_get("boot_count").await.expect("read"), Some(1));
    again.close().await.expect("close");
});

both_backends!(append_is_idempotent_and_batched, |store| async move {
    let base = t0();
    let msgs: Vec<_> = (1..=1_203u64)
        .map(|i| msg(i, 10, 100 + i % 3, base + Duration::seconds(i as i64), "hi"))
        .collect();
    assert_eq!(store.append_messages(&msgs).await.expect("append"), 1_203);
    // Same ids again (a gateway replay): nothing new, no error.
    assert_eq!(
        store
            .append_messages(&msgs[..600])
            .await
            .expect("append again"),
        0
    );
    let mut dup = msgs[0].clone();
    dup.content = "different".into();
    assert_eq!(store.append_messages(&[dup]).await.expect("append dup"), 0);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM short_term_messages").await,
        1_203
    );
    let first = store
        .message(MessageId(1))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        first,
        LoggedMessage {
            created_at: first.created_at,
            ..msgs[0].clone()
        }
    );
    assert_eq!(first.content, "hi");
    assert_eq!(store.append_messages(&[]).await.expect("empty"), 0);
});

both_backends!(recent_messages_window_and_order, |store| async move {
    let now = t0();
    let mut msgs = vec![
        msg(1, 10, 100, now - Duration::hours(30), "too old"),
        msg(2, 10, 100, now - Duration::hours(2), "a"),
        msg(3, 10, 101, now - Duration::hours(1), "b"),
        msg(4, 10, 100, now - Duration::minutes(1), "c"),
        msg(5, 11, 100, now - Duration::minutes(1), "other channel"),
    ];
    msgs[2].reply_to = Some(MessageId(2));
    msgs[2].guild_id = None;
    store.append_messages(&msgs).await.expect("append");
    let since = now - Duration::hours(24);
    let got = store
        .recent_messages(ChannelId(10), since, 100)
        .await
        .expect("recent");
    assert_eq!(
        got.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(got[1].reply_to, Some(MessageId(2)));
    assert_eq!(got[1].guild_id, None);
    // Only the newest `limit`, still oldest first.
    let got = store
        .recent_messages(ChannelId(10), since, 2)
        .await
        .expect("recent");
    assert_eq!(
        got.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["b", "c"]
    );
    assert_eq!(
        store
            .last_message(ChannelId(10))
            .await
            .expect("last")
            .map(|m| m.id),
        Some(MessageId(4))
    );
    assert_eq!(store.last_message(ChannelId(99)).await.expect("last"), None);
    // Timestamps come back exactly as returned (microsecond precision on both backends).
    let again = store
        .message(MessageId(4))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(again.created_at, got[1].created_at);
    assert_eq!(
        store
            .count_messages_since(Some(GuildId(1)), since)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        store
            .count_messages_since(None, since)
            .await
            .expect("count"),
        4
    );
    assert_eq!(
        store
            .count_messages_since(Some(GuildId(2)), since)
            .await
            .expect("count"),
        0
    );
    let mine = store
        .messages_of_user_since(UserId(100), since)
        .await
        .expect("mine");
    assert_eq!(mine.iter().map(|m| m.id.0).collect::<Vec<_>>(), [2, 4, 5]);
});

both_backends!(edit_and_delete_messages, |store| async move {
    store
        .append_messages(&[msg(1, 10, 100, t0(), "before")])
        .await
        .expect("append");
    assert!(
        store
            .edit_message(MessageId(1), "after", t0() + Duration::seconds(5))
            .await
            .expect("edit")
    );
    assert!(
        !store
            .edit_message(MessageId(2), "x", t0())
            .await
            .expect("edit unknown")
    );
    assert_eq!(
        store
            .message(MessageId(1))
            .await
            .expect("read")
            .map(|m| m.content),
        Some("after".into())
    );
    assert!(store.delete_message(MessageId(1)).await.expect("delete"));
    assert!(
        !store
            .delete_message(MessageId(1))
            .await
            .expect("delete again")
    );
    assert_eq!(store.message(MessageId(1)).await.expect("read"), None);
});

both_backends!(archive_moves_exactly_once, |store| async move {
    let now = t0();
    let mut bot = msg(4, 10, 900, now - Duration::hours(50), "bot says");
    bot.is_bot = true;
    store
        .append_messages(&[
            msg(1, 10, 100, now - Duration::hours(50), "old 1"),
            msg(2, 10, 100, now - Duration::hours(49), "old 2"),
            msg(3, 10, 100, now - Duration::hours(1), "fresh"),
            bot,
            msg(5, 10, 101, now - Duration::hours(48), "other"),
        ])
        .await
        .expect("append");
    let cutoff = now - Duration::hours(24);
    assert_eq!(
        store
            .short_term_authors_before(cutoff)
            .await
            .expect("authors"),
        [UserId(100), UserId(101)]
    );
    let old = store
        .short_term_of_user_before(UserId(100), cutoff)
        .await
        .expect("old");
    assert_eq!(old.iter().map(|m| m.id.0).collect::<Vec<_>>(), [1, 2]);
    let ids: Vec<_> = old.iter().map(|m| m.id).collect();
    assert_eq!(store.archive_messages(&ids, now).await.expect("archive"), 2);
    assert_eq!(
        store
            .archive_messages(&ids, now)
            .await
            .expect("archive again"),
        0
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM archived_messages").await,
        2
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM short_term_messages WHERE message_id IN (1, 2)"
        )
        .await,
        0
    );
    let archived = store.archived_of_user(UserId(100)).await.expect("archived");
    assert_eq!(
        archived
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["old 1", "old 2"]
    );
    // Still reachable by id, from the archive.
    assert_eq!(
        store
            .message(MessageId(2))
            .await
            .expect("read")
            .map(|m| m.content),
        Some("old 2".into())
    );
    // Inside a caller's transaction, rolled back: nothing moves.
    let txn = store.writer().begin().await.expect("begin");
    personabot::store::messages::archive_messages(&txn, &[MessageId(5)], now)
        .await
        .expect("archive in txn");
    txn.rollback().await.expect("rollback");
    assert_eq!(
        store
            .message(MessageId(5))
            .await
            .expect("read")
            .map(|m| m.id),
        Some(MessageId(5))
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM archived_messages").await,
        2
    );
    // Age cap helper and retention.
    let stale = store.short_term_before(cutoff, 10).await.expect("stale");
    assert_eq!(stale.iter().map(|m| m.id.0).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(
        store
            .purge_archived_before(now - Duration::hours(49) - Duration::minutes(30))
            .await
            .expect("purge"),
        1
    );
    // Deletion request covers both tables.
    assert_eq!(
        store
            .delete_user_messages(UserId(100))
            .await
            .expect("delete"),
        2
    );
    assert_eq!(store.message(MessageId(3)).await.expect("read"), None);
});

both_backends!(users_and_names, |store| async move {
    let t = t0();
    store
        .upsert_user(UserId(7), "sam", false, t)
        .await
        .expect("upsert");
    store
        .upsert_user(UserId(7), "sam_new", false, t + Duration::hours(1))
        .await
        .expect("upsert again");
    let user = store.user(UserId(7)).await.expect("read").expect("exists");
    assert_eq!(user.username, "sam_new");
    assert!(user.last_seen_at > user.first_seen_at);
    store
        .record_name(UserId(7), None, "Sam", t)
        .await
        .expect("name");
    store
        .record_name(UserId(7), Some(GuildId(1)), "Sammy", t)
        .await
        .expect("nick");
    store
        .record_name(UserId(7), Some(GuildId(1)), "Sammy", t + Duration::days(1))
        .await
        .expect("nick again");
    // A member seen only through a name gets a users row too.
    store
        .record_name(UserId(8), Some(GuildId(1)), "Alex", t)
        .await
        .expect("new member");
    let names = store.known_names(UserId(7)).await.expect("names");
    assert_eq!(names.len(), 2);
    assert_eq!(names[0].name, "Sammy");
    assert_eq!(names[0].guild_id, Some(GuildId(1)));
    assert!(names[0].last_seen_at > names[0].first_seen_at);
    assert_eq!(names[1].guild_id, None);
    assert!(matches!(
        store.record_name(UserId(7), None, "   ", t).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.known_names(UserId(8)).await.expect("names").len(), 1);
});

both_backends!(persona_round_trip, |store| async move {
    let t = t0();
    let a = store
        .add_persona_entry(PersonaKind::Trait, "  dry humour  ", t)
        .await
        .expect("add");
    assert_eq!(a.content, "dry humour");
    let b = store
        .add_persona_entry(PersonaKind::Lore, "grew up on a lighthouse", t)
        .await
        .expect("add");
    let edited = store
        .edit_persona_entry(b.id, "grew up on a ferry", t + Duration::minutes(1))
        .await
        .expect("edit");
    assert_eq!(edited.created_at, b.created_at);
    assert!(edited.updated_at > edited.created_at);
    let persona = store.persona().await.expect("persona");
    assert_eq!(persona.entries, vec![a.clone(), edited.clone()]);
    assert_eq!(persona.of_kind(PersonaKind::Lore).count(), 1);
    assert_eq!(
        store.persona_entry(a.id).await.expect("get"),
        Some(a.clone())
    );
    store.remove_persona_entry(a.id).await.expect("remove");
    assert!(matches!(
        store.remove_persona_entry(a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.edit_persona_entry(a.id, "x", t).await,
        Err(StoreError::NotFound { .. })
    ));
    // Validation happens before any write.
    let long = "x".repeat(2001);
    assert!(matches!(
        store.add_persona_entry(PersonaKind::Quirk, &long, t).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.add_persona_entry(PersonaKind::Quirk, " \n ", t).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.edit_persona_entry(edited.id, "", t).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.persona().await.expect("persona").entries,
        vec![edited]
    );
});

both_backends!(facts_rank_bump_supersede, |store| async move {
    let t = t0();
    let oslo = store
        .insert_fact(&fact(1, "lives in Oslo"), t)
        .await
        .expect("insert");
    let cat = store
        .insert_fact(&fact(1, "has a cat"), t + Duration::minutes(1))
        .await
        .expect("insert");
    store
        .insert_fact(&fact(2, "someone else"), t)
        .await
        .expect("insert");
    assert_eq!(oslo.reference_count, 1);
    let bumped = store
        .bump_fact(oslo.id, t + Duration::minutes(2))
        .await
        .expect("bump");
    assert_eq!(bumped.reference_count, 2);
    let ranked = store.facts_of_user(UserId(1), false).await.expect("facts");
    assert_eq!(
        ranked.iter().map(|f| f.id).collect::<Vec<_>>(),
        [oslo.id, cat.id]
    );
    // Contradiction: the old fact stays, marked.
    let bergen = store
        .supersede_fact(oslo.id, &fact(1, "lives in Bergen"), t + Duration::hours(1))
        .await
        .expect("supersede");
    let current = store.facts_of_user(UserId(1), false).await.expect("facts");
    assert_eq!(
        current.iter().map(|f| f.fact.as_str()).collect::<Vec<_>>(),
        ["lives in Bergen", "has a cat"]
    );
    let all = store.facts_of_user(UserId(1), true).await.expect("facts");
    assert_eq!(all.len(), 3);
    let old = store.fact(oslo.id).await.expect("get").expect("kept");
    assert_eq!(old.superseded_by, Some(bergen.id));
    assert_eq!(old.valid_until, Some(bergen.first_mentioned_at));
    assert!(matches!(
        store.supersede_fact(oslo.id, &fact(1, "again"), t).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .supersede_fact(cat.id, &fact(2, "not theirs"), t)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.bump_fact(9_999, t).await,
        Err(StoreError::NotFound { .. })
    ));
    // Edit and delete are scoped to the member.
    let edited = store
        .edit_fact(UserId(1), cat.id, "has two cats", "pets")
        .await
        .expect("edit");
    assert_eq!(
        (edited.fact.as_str(), edited.category.as_str()),
        ("has two cats", "pets")
    );
    assert!(matches!(
        store.edit_fact(UserId(2), cat.id, "x", "y").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_fact(UserId(2), cat.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.insert_fact(&fact(1, &"y".repeat(1001)), t).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.count_facts().await.expect("count"), 4);
    store.delete_fact(UserId(1), cat.id).await.expect("delete");
    assert_eq!(store.count_facts().await.expect("count"), 3);
    assert_eq!(
        store.delete_all_facts(UserId(1)).await.expect("delete all"),
        2
    );
    assert_eq!(store.count_facts().await.expect("count"), 1);
});

both_backends!(fact_embeddings_keep_their_model, |store| async move {
    let t = t0();
    let store = store.with_embedding_model("text-embedding-3-small");
    let mut new = fact(1, "likes tea");
    new.embedding = Some(vec![0.25, -1.5, 3.0e-7]);
    let f = store.insert_fact(&new, t).await.expect("insert");
    assert_eq!(f.embedding, new.embedding);
    assert_eq!(
        store
            .fact(f.id)
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        new.embedding
    );
    // Another model's vectors are not handed out for comparison.
    let other = store.clone().with_embedding_model("another-model");
    assert_eq!(
        other
            .fact(f.id)
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        None
    );
    other
        .set_fact_embedding(f.id, "another-model", &[1.0, 2.0])
        .await
        .expect("re-embed");
    assert_eq!(
        other
            .fact(f.id)
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        Some(vec![1.0, 2.0])
    );
});

both_backends!(relationship_metrics_and_events, |store| async move {
    let t = t0();
    let user = UserId(5);
    assert_eq!(
        store.relationship(user).await.expect("read"),
        Relationship::default()
    );
    let change = store
        .set_metric(user, Metric::Trust, 8, "kept a secret", t)
        .await
        .expect("set");
    assert_eq!(
        change,
        RelationshipChange {
            metric: Metric::Trust,
            old_value: 5,
            new_value: 8,
            reason: "kept a secret".into()
        }
    );
    assert_eq!(
        store
            .relationship(user)
            .await
            .expect("read")
            .get(Metric::Trust),
        8
    );
    // Out of range: the domain error, and nothing written.
    let err = store
        .set_metric(user, Metric::Anger, 11, "rage", t)
        .await
        .expect_err("refused");
    assert!(matches!(
        err,
        StoreError::Relationship(RelationshipError::OutOfRange {
            metric: Metric::Anger,
            value: 11,
            ..
        })
    ));
    let err = store
        .set_metric(user, Metric::Formality, -6, "slang", t)
        .await
        .expect_err("refused");
    assert!(matches!(
        err,
        StoreError::Relationship(RelationshipError::OutOfRange { .. })
    ));
    let err = store
        .set_metric(UserId(6), Metric::Trust, -1, "new member", t)
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Relationship(_)));
    assert_eq!(
        store
            .relationship(user)
            .await
            .expect("read")
            .get(Metric::Anger),
        0
    );
    assert_eq!(
        store
            .relationship_events(user, 10)
            .await
            .expect("events")
            .len(),
        1
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM relationships").await, 1);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM relationship_events").await,
        1
    );
    // An exchange: new values plus their changes, together.
    let next = Relationship::new(1, 6, 8, -1).expect("valid");
    let changes = vec![
        RelationshipChange {
            metric: Metric::Anger,
            old_value: 0,
            new_value: 1,
            reason: "teased".into(),
        },
        RelationshipChange {
            metric: Metric::Rapport,
            old_value: 5,
            new_value: 6,
            reason: "laughed".into(),
        },
    ];
    store
        .save_relationship(user, next, &changes, t + Duration::minutes(1))
        .await
        .expect("save");
    assert_eq!(store.relationship(user).await.expect("read"), next);
    let events = store.relationship_events(user, 10).await.expect("events");
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].change.reason, "kept a secret");
    assert!(events[0].created_at > events[2].created_at);
    assert_eq!(
        store
            .relationship_events(user, 1)
            .await
            .expect("events")
            .len(),
        1
    );
});

both_backends!(global_state_and_mood, |store| async move {
    let t = t0();
    assert_eq!(
        store.global_get("daily_mood_energy").await.expect("get"),
        None
    );
    store
        .global_set("daily_mood_energy", 7, t)
        .await
        .expect("set");
    store
        .global_set("daily_mood_patience", -2, t)
        .await
        .expect("set");
    store.global_set("daily_moodx", 1, t).await.expect("set");
    store
        .global_set("daily_mood_energy", 8, t)
        .await
        .expect("overwrite");
    store
        .global_set_text("status_line", "watching the rain", t)
        .await
        .expect("text");
    store
        .global_set_text("daily_mood_energy", "perky", t)
        .await
        .expect("text keeps value");
    assert_eq!(
        store.global_get("daily_mood_energy").await.expect("get"),
        Some(8)
    );
    assert_eq!(store.global_get("status_line").await.expect("get"), Some(0));
    assert_eq!(
        store
            .global_text("status_line")
            .await
            .expect("get")
            .as_deref(),
        Some("watching the rain")
    );
    store
        .global_set("daily_mood_energy", 9, t)
        .await
        .expect("set keeps text");
    assert_eq!(
        store
            .global_text("daily_mood_energy")
            .await
            .expect("get")
            .as_deref(),
        Some("perky")
    );
    assert_eq!(
        store.global_add("replies_today", 2, t).await.expect("add"),
        2
    );
    assert_eq!(
        store.global_add("replies_today", 3, t).await.expect("add"),
        5
    );
    let mood = store.mood().await.expect("mood");
    assert_eq!(
        mood,
        BTreeMap::from([
            ("daily_mood_energy".to_owned(), 9),
            ("daily_mood_patience".to_owned(), -2)
        ])
    );
    let list = store.global_list().await.expect("list");
    assert_eq!(
        list.iter().map(|(k, _, _)| k.as_str()).collect::<Vec<_>>(),
        [
            "daily_mood_energy",
            "daily_mood_patience",
            "daily_moodx",
            "replies_today",
            "status_line"
        ]
    );
    for bad in ["", "Upper", "with space", "dash-ed", &"k".repeat(65)] {
        assert!(
            matches!(
                store.global_set(bad, 1, t).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(store.global_list().await.expect("list").len(), 5);
});

both_backends!(channel_policy_precedence, |store| async move {
    let t = t0();
    let (g, c) = (GuildId(1), ChannelId(10));
    let default = ChannelPolicy {
        bot_enabled: true,
        proactive_enabled: false,
    };
    assert_eq!(
        store
            .channel_policy(Some(g), c, default)
            .await
            .expect("policy"),
        default
    );
    let off = ChannelPolicy {
        bot_enabled: false,
        proactive_enabled: false,
    };
    assert_eq!(
        store.channel_policy(Some(g), c, off).await.expect("policy"),
        off
    );
    // Server off overrides the default.
    store.set_guild_enabled(g, false, t).await.expect("guild");
    assert!(
        !store
            .channel_policy(Some(g), c, default)
            .await
            .expect("policy")
            .bot_enabled
    );
    // Channel on overrides the server.
    store
        .set_channel_enabled(Some(g), c, Some(true), t)
        .await
        .expect("channel");
    assert!(
        store
            .channel_policy(Some(g), c, default)
            .await
            .expect("policy")
            .bot_enabled
    );
    // Back to inheriting.
    store
        .set_channel_enabled(Some(g), c, None, t)
        .await
        .expect("channel");
    assert!(
        !store
            .channel_policy(Some(g), c, default)
            .await
            .expect("policy")
            .bot_enabled
    );
    store.set_guild_enabled(g, true, t).await.expect("guild");
    store
        .set_channel_enabled(Some(g), c, Some(false), t)
        .await
        .expect("channel");
    assert!(
        !store
            .channel_policy(Some(g), c, default)
            .await
            .expect("policy")
            .bot_enabled
    );
    // Proactive is opt-in and needs the bot enabled.
    store
        .set_channel_proactive(Some(g), c, true, t)
        .await
        .expect("proactive");
    assert_eq!(
        store
            .channel_policy(Some(g), c, default)
            .await
            .expect("policy"),
        off
    );
    store
        .set_channel_enabled(Some(g), c, None, t)
        .await
        .expect("channel");
    assert_eq!(
        store
            .channel_policy(Some(g), c, default)
            .await
            .expect("policy"),
        ChannelPolicy {
            bot_enabled: true,
            proactive_enabled: true
        }
    );
    // DMs (no server) use channel then default.
    assert_eq!(
        store
            .channel_policy(None, ChannelId(77), default)
            .await
            .expect("policy"),
        default
    );
    // proactive_channels: opted in and not disabled by channel or server.
    store
        .set_channel_proactive(Some(GuildId(2)), ChannelId(20), true, t)
        .await
        .expect("proactive");
    store
        .set_guild_enabled(GuildId(2), false, t)
        .await
        .expect("guild off");
    store
        .set_channel_proactive(Some(GuildId(3)), ChannelId(30), true, t)
        .await
        .expect("proactive");
    store
        .set_channel_enabled(Some(GuildId(3)), ChannelId(30), Some(false), t)
        .await
        .expect("channel off");
    store
        .set_channel_proactive(None, ChannelId(40), true, t)
        .await
        .expect("proactive");
    store
        .set_channel_proactive(Some(g), ChannelId(50), false, t)
        .await
        .expect("not opted in");
    assert_eq!(
        store.proactive_channels().await.expect("channels"),
        [c, ChannelId(40)]
    );
});

both_backends!(consolidation_runs_resume, |store| async move {
    let t = t0();
    assert_eq!(store.unfinished_run().await.expect("none"), None);
    let cutoff = t - Duration::hours(24);
    let id = store.start_run(cutoff, t).await.expect("start");
    assert_eq!(
        store.unfinished_run().await.expect("running"),
        Some((id, cutoff.trunc_subsecs(6)))
    );
    let stats = RunStats {
        users_done: 1,
        facts_added: 3,
        facts_bumped: 1,
        messages_archived: 20,
    };
    store
        .record_run_progress(id, stats)
        .await
        .expect("progress");
    assert_eq!(store.run_stats(id).await.expect("stats"), stats);
    store
        .finish_run(id, t + Duration::minutes(5), stats)
        .await
        .expect("finish");
    assert_eq!(store.unfinished_run().await.expect("done"), None);
    let failed = store.start_run(t, t).await.expect("start");
    store
        .fail_run(failed, t, RunStats::default())
        .await
        .expect("fail");
    assert_eq!(
        store.unfinished_run().await.expect("failed is not resumed"),
        None
    );
    assert!(matches!(
        store.finish_run(999, t, stats).await,
        Err(StoreError::NotFound { .. })
    ));
});

both_backends!(proactive_posts_counted, |store| async move {
    let t = t0();
    store
        .record_proactive_post(
            ChannelId(10),
            Some(MessageId(1)),
            ProactiveKind::Comment,
            t - Duration::hours(3),
        )
        .await
        .expect("post");
    store
        .record_proactive_post(ChannelId(10), None, ProactiveKind::Musing, t)
        .await
        .expect("post");
    store
        .record_proactive_post(ChannelId(11), None, ProactiveKind::Musing, t)
        .await
        .expect("post");
    assert_eq!(
        store
            .proactive_posts_since(ChannelId(10), t - Duration::hours(1))
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .proactive_posts_since(ChannelId(10), t - Duration::hours(4))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .proactive_posts_since(ChannelId(12), t - Duration::hours(4))
            .await
            .expect("count"),
        0
    );
});

both_backends!(modlog_numbers_per_guild, |store| async move {
    let t = t0();
    let (a, b) = (GuildId(1), GuildId(2));
    let mod_ = UserId(99);
    let c1 = store
        .add_case(a, ModAction::Kick, UserId(5), mod_, Some("spam"), None, t)
        .await
        .expect("case");
    let c2 = store
        .add_case(
            a,
            ModAction::Ban,
            UserId(5),
            mod_,
            None,
            Some(t + Duration::hours(1)),
            t,
        )
        .await
        .expect("case");
    let other = store
        .add_case(b, ModAction::Timeout, UserId(5), mod_, None, Some(t), t)
        .await
        .expect("case");
    let c3 = store
        .add_case(
            a,
            ModAction::Ban,
            UserId(6),
            mod_,
            Some("raid"),
            Some(t + Duration::days(1)),
            t,
        )
        .await
        .expect("case");
    assert_eq!(
        (
            c1.case_number,
            c2.case_number,
            c3.case_number,
            other.case_number
        ),
        (1, 2, 3, 1)
    );
    let cases = store.cases_for(a, UserId(5)).await.expect("cases");
    assert_eq!(cases, vec![c1.clone(), c2.clone()]);
    assert_eq!(cases[0].reason.as_deref(), Some("spam"));
    // Due: bans only, expired, not lifted.
    assert!(store.due_temporary_bans(t).await.expect("due").is_empty());
    let due = store
        .due_temporary_bans(t + Duration::hours(2))
        .await
        .expect("due");
    assert_eq!(due.iter().map(|c| c.id).collect::<Vec<_>>(), [c2.id]);
    store
        .mark_case_lifted(c2.id, t + Duration::hours(2))
        .await
        .expect("lift");
    assert!(
        store
            .due_temporary_bans(t + Duration::hours(2))
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        store
            .due_temporary_bans(t + Duration::days(2))
            .await
            .expect("due")
            .len(),
        1
    );
    assert!(matches!(
        store.mark_case_lifted(12_345, t).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .add_case(
                a,
                ModAction::Kick,
                UserId(5),
                mod_,
                Some(&"r".repeat(513)),
                None,
                t
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store
            .add_case(a, ModAction::Unban, UserId(5), mod_, None, None, t)
            .await
            .expect("case")
            .case_number,
        4
    );
});

both_backends!(tickets_open_and_close, |store| async move {
    let t = t0();
    let opened = store
        .open_ticket(
            GuildId(1),
            ChannelId(500),
            UserId(5),
            "cannot post images",
            t,
        )
        .await
        .expect("open");
    assert_eq!(opened.status, TicketStatus::Open);
    assert_eq!(
        store.ticket_by_thread(ChannelId(500)).await.expect("get"),
        Some(opened.clone())
    );
    assert!(matches!(
        store
            .open_ticket(GuildId(1), ChannelId(500), UserId(6), "dup", t)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let closed = store
        .close_ticket(
            ChannelId(500),
            UserId(99),
            "user5: help\nmod: done",
            t + Duration::hours(1),
        )
        .await
        .expect("close");
    assert_eq!(closed.status, TicketStatus::Closed);
    assert_eq!(closed.closed_by, Some(UserId(99)));
    assert_eq!(closed.transcript.as_deref(), Some("user5: help\nmod: done"));
    assert_eq!(
        store.ticket_by_thread(ChannelId(500)).await.expect("get"),
        Some(closed)
    );
    assert!(matches!(
        store.close_ticket(ChannelId(500), UserId(99), "", t).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.close_ticket(ChannelId(501), UserId(99), "", t).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.ticket_by_thread(ChannelId(501)).await.expect("get"),
        None
    );
});

both_backends!(export_and_delete_everything, |store| async move {
    let t = t0();
    let u = UserId(42);
    store.upsert_user(u, "river", false, t).await.expect("user");
    store
        .record_name(u, Some(GuildId(1)), "Riv", t)
        .await
        .expect("name");
    let old = store
        .insert_fact(&fact(42, "likes jazz"), t)
        .await
        .expect("fact");
    store
        .supersede_fact(old.id, &fact(42, "likes blues"), t)
        .await
        .expect("supersede");
    store
        .set_metric(u, Metric::Rapport, 7, "good chat", t)
        .await
        .expect("metric");
    store
        .append_messages(&[
            msg(1, 10, 42, t - Duration::days(3), "old"),
            msg(2, 10, 42, t, "new"),
            msg(3, 10, 43, t, "not theirs"),
        ])
        .await
        .expect("messages");
    store
        .archive_messages(&[MessageId(1)], t)
        .await
        .expect("archive");
    let export = store.export_user(u).await.expect("export");
    assert_eq!(
        export.user.as_ref().map(|u| u.username.as_str()),
        Some("river")
    );
    assert_eq!(export.names.len(), 1);
    assert_eq!(export.facts.len(), 2);
    assert_eq!(export.relationship.map(|r| r.get(Metric::Rapport)), Some(7));
    assert_eq!(export.relationship_events.len(), 1);
    assert_eq!(
        export.messages.iter().map(|m| m.id.0).collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(
        export
            .archived_messages
            .iter()
            .map(|m| m.id.0)
            .collect::<Vec<_>>(),
        [1]
    );
    let json = serde_json::to_value(&export).expect("serializes");
    assert_eq!(json["facts"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["user"]["username"], "river");
    let report = store.delete_user_data(u).await.expect("delete");
    assert_eq!((report.messages, report.facts), (2, 2));
    let empty = store.export_user(u).await.expect("export");
    assert!(empty.user.is_none() && empty.names.is_empty() && empty.facts.is_empty());
    assert!(
        empty.relationship.is_none()
            && empty.messages.is_empty()
            && empty.archived_messages.is_empty()
    );
    assert_eq!(
        store
            .message(MessageId(3))
            .await
            .expect("others kept")
            .map(|m| m.author_id),
        Some(UserId(43))
    );
});

// ---- SQLite connection setup ----

#[tokio::test]
async fn sqlite_pragmas_apply_to_every_pooled_connection() {
    let db = common::TestDb::new(common::Backend::Sqlite).await;
    let store = db
        .store_with(StoreOptions {
            max_read_connections: 3,
            busy_timeout: std::time::Duration::from_millis(1234),
        })
        .await;
    // Hold several read connections at once so more than one pooled connection is checked.
    let mut txns = Vec::new();
    for _ in 0..3 {
        txns.push(store.reader().begin().await.expect("begin"));
    }
    for txn in &txns {
        let q = |sql: &str| Statement::from_string(sea_orm::DbBackend::Sqlite, sql.to_owned());
        let mode = txn
            .query_one_raw(q("PRAGMA journal_mode"))
            .await
            .expect("q")
            .expect("row");
        assert_eq!(mode.try_get_by_index::<String>(0).expect("mode"), "wal");
        let fk = txn
            .query_one_raw(q("PRAGMA foreign_keys"))
            .await
            .expect("q")
            .expect("row");
        assert_eq!(fk.try_get_by_index::<i64>(0).expect("fk"), 1);
        let sync = txn
            .query_one_raw(q("PRAGMA synchronous"))
            .await
            .expect("q")
            .expect("row");
        assert_eq!(sync.try_get_by_index::<i64>(0).expect("sync"), 1, "NORMAL");
        let busy = txn
            .query_one_raw(q("PRAGMA busy_timeout"))
            .await
            .expect("q")
            .expect("row");
        assert_eq!(busy.try_get_by_index::<i64>(0).expect("busy"), 1234);
    }
    drop(txns);
    store.close().await.expect("close");
}

#[tokio::test]
async fn sqlite_creates_parent_directory_and_migrate_only_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}/nested/deeper/bot.sqlite?mode=rwc",
        dir.path().display()
    );
    Store::migrate_only(&url).await.expect("migrate");
    assert!(dir.path().join("nested/deeper/bot.sqlite").exists());
    let store = Store::connect(&url, StoreOptions::default())
        .await
        .expect("connect");
    store.global_set("x", 1, t0()).await.expect("write");
    store.close().await.expect("close");
}

#[tokio::test]
async fn sqlite_memory_shares_one_database() {
    let store = Store::connect("sqlite::memory:", StoreOptions::default())
        .await
        .expect("connect");
    store.global_set("x", 3, t0()).await.expect("write");
    assert_eq!(store.global_get("x").await.expect("read"), Some(3));
}

#[tokio::test]
async fn sqlite_foreign_keys_cascade_names() {
    let db = common::TestDb::new(common::Backend::Sqlite).await;
    let store = db.store().await;
    store
        .record_name(UserId(1), None, "a", t0())
        .await
        .expect("name");
    store
        .writer()
        .execute_unprepared("DELETE FROM users WHERE id = 1")
        .await
        .expect("delete user");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM user_names").await, 0);
}
