//! A member's data export and deletion.

use crate::{both_backends, fact, member, msg, t0};
use chrono::Duration;
use personabot::domain::{GuildId, MessageId, Metric, UserId};

both_backends!(export_and_delete_everything, |store| async move {
    let t = t0();
    let u = UserId(42);
    personabot::store::users::upsert_user(store.writer(), u, "river", false, t)
        .await
        .expect("user");
    personabot::store::users::record_name(store.writer(), u, Some(GuildId(1)), "Riv", t)
        .await
        .expect("name");
    let old = personabot::store::facts::insert_fact(
        store.writer(),
        &fact(42, "likes jazz"),
        store.embedding_model(),
        t,
    )
    .await
    .expect("fact");
    personabot::store::facts::supersede_fact(
        store.writer(),
        old.id,
        &fact(42, "likes blues"),
        store.embedding_model(),
        t,
    )
    .await
    .expect("supersede");
    personabot::store::relationships::set_metric(
        store.writer(),
        member(42),
        Metric::Rapport,
        7,
        "good chat",
        t,
    )
    .await
    .expect("metric");
    personabot::store::messages::append_messages(
        store.writer(),
        &[
            msg(1, 10, 42, t - Duration::days(3), "old"),
            msg(2, 10, 42, t, "new"),
            msg(3, 10, 43, t, "not theirs"),
        ],
    )
    .await
    .expect("messages");
    personabot::store::archive::archive_messages(store.writer(), &[MessageId(1)], t)
        .await
        .expect("archive");
    let export = personabot::store::export::export_snapshot(store.reader(), u)
        .await
        .expect("export");
    assert_eq!(
        export.user.as_ref().map(|u| u.username.as_str()),
        Some("river")
    );
    // One server: guild 1 (the name, the facts, the messages, the relationship).
    assert_eq!(export.servers.len(), 1);
    let server = &export.servers[0];
    assert_eq!(server.guild_id, Some(GuildId(1)));
    assert_eq!(server.names.len(), 1);
    assert_eq!(server.facts.len(), 2);
    assert_eq!(server.relationship.map(|r| r.get(Metric::Rapport)), Some(7));
    assert_eq!(server.relationship_events.len(), 1);
    assert_eq!(
        server.messages.iter().map(|m| m.id.0).collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(
        server
            .archived_messages
            .iter()
            .map(|m| m.id.0)
            .collect::<Vec<_>>(),
        [1]
    );
    let json = serde_json::to_value(&export).expect("serializes");
    assert_eq!(
        json["servers"][0]["facts"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(json["user"]["username"], "river");
    let report = personabot::store::export::delete_user_data(store.writer(), u)
        .await
        .expect("delete");
    assert_eq!((report.messages, report.facts), (2, 2));
    let empty = personabot::store::export::export_snapshot(store.reader(), u)
        .await
        .expect("export");
    assert!(empty.is_empty(), "{empty:?}");
    assert_eq!(
        personabot::store::messages::message(store.reader(), MessageId(3))
            .await
            .expect("others kept")
            .map(|m| m.author_id),
        Some(UserId(43))
    );
});

// Erasing a member who turned memory off keeps the opt-out (and nothing else about them).
both_backends!(erasure_keeps_an_opt_out, |store| async move {
    let t = t0();
    let u = UserId(77);
    personabot::store::users::upsert_user(store.writer(), u, "quiet", false, t)
        .await
        .expect("user");
    personabot::store::users::set_memory_off(store.writer(), u, "quiet", true, t)
        .await
        .expect("off");
    personabot::store::facts::insert_fact(
        store.writer(),
        &fact(77, "likes tea"),
        store.embedding_model(),
        t,
    )
    .await
    .expect("fact");
    personabot::store::export::delete_user_data(store.writer(), u)
        .await
        .expect("erase");
    let left = personabot::store::export::export_snapshot(store.reader(), u)
        .await
        .expect("export");
    assert!(left.servers.is_empty(), "{left:?}");
    let row = left.user.expect("the opt-out row");
    assert!(row.memory_off);
    assert_eq!(row.username, personabot::store::export::ERASED_NAME);
});
