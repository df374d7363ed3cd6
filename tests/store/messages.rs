//! The short-term message log and its archive.

use crate::{both_backends, count, member, msg, t0};
use chrono::Duration;
use personabot::domain::{ChannelId, GuildId, LoggedMessage, MessageId, UserId};
use sea_orm::TransactionTrait;

both_backends!(append_is_idempotent_and_batched, |store| async move {
    let base = t0();
    let msgs: Vec<_> = (1..=1_203u64)
        .map(|i| msg(i, 10, 100 + i % 3, base + Duration::seconds(i as i64), "hi"))
        .collect();
    assert_eq!(
        personabot::store::messages::append_messages(store.writer(), &msgs)
            .await
            .expect("append"),
        1_203
    );
    // Same ids again (a gateway replay): nothing new, no error.
    assert_eq!(
        personabot::store::messages::append_messages(store.writer(), &msgs[..600])
            .await
            .expect("append again"),
        0
    );
    let mut dup = msgs[0].clone();
    dup.content = "different".into();
    assert_eq!(
        personabot::store::messages::append_messages(store.writer(), &[dup])
            .await
            .expect("append dup"),
        0
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM short_term_messages").await,
        1_203
    );
    let first = personabot::store::messages::message(store.reader(), MessageId(1))
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
    assert_eq!(
        personabot::store::messages::append_messages(store.writer(), &[])
            .await
            .expect("empty"),
        0
    );
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
    personabot::store::messages::append_messages(store.writer(), &msgs)
        .await
        .expect("append");
    let since = now - Duration::hours(24);
    let got =
        personabot::store::messages::recent_messages(store.reader(), ChannelId(10), since, 100)
            .await
            .expect("recent");
    assert_eq!(
        got.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(got[1].reply_to, Some(MessageId(2)));
    assert_eq!(got[1].guild_id, None);
    // Only the newest `limit`, still oldest first.
    let got = personabot::store::messages::recent_messages(store.reader(), ChannelId(10), since, 2)
        .await
        .expect("recent");
    assert_eq!(
        got.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["b", "c"]
    );
    assert_eq!(
        personabot::store::messages::last_message(store.reader(), ChannelId(10))
            .await
            .expect("last")
            .map(|m| m.id),
        Some(MessageId(4))
    );
    assert_eq!(
        personabot::store::messages::last_message(store.reader(), ChannelId(99))
            .await
            .expect("last"),
        None
    );
    // Timestamps come back exactly as returned (microsecond precision on both backends).
    let again = personabot::store::messages::message(store.reader(), MessageId(4))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(again.created_at, got[1].created_at);
    assert_eq!(
        personabot::store::messages::count_messages_since(store.reader(), Some(GuildId(1)), since)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        personabot::store::messages::count_messages_since(store.reader(), None, since)
            .await
            .expect("count"),
        4
    );
    assert_eq!(
        personabot::store::messages::count_messages_since(store.reader(), Some(GuildId(2)), since)
            .await
            .expect("count"),
        0
    );
    let mine =
        personabot::store::messages::messages_of_user_since(store.reader(), UserId(100), since)
            .await
            .expect("mine");
    assert_eq!(mine.iter().map(|m| m.id.0).collect::<Vec<_>>(), [2, 4, 5]);
});

both_backends!(edit_and_delete_messages, |store| async move {
    personabot::store::messages::append_messages(
        store.writer(),
        &[msg(1, 10, 100, t0(), "before")],
    )
    .await
    .expect("append");
    assert!(
        personabot::store::messages::edit_message(
            store.writer(),
            MessageId(1),
            "after",
            t0() + Duration::seconds(5)
        )
        .await
        .expect("edit")
    );
    assert!(
        !personabot::store::messages::edit_message(store.writer(), MessageId(2), "x", t0())
            .await
            .expect("edit unknown")
    );
    assert_eq!(
        personabot::store::messages::message(store.reader(), MessageId(1))
            .await
            .expect("read")
            .map(|m| m.content),
        Some("after".into())
    );
    assert_eq!(
        personabot::store::archive::delete_messages(store.writer(), &[MessageId(1)])
            .await
            .expect("delete"),
        1
    );
    assert_eq!(
        personabot::store::archive::delete_messages(store.writer(), &[MessageId(1)])
            .await
            .expect("delete again"),
        0
    );
    assert_eq!(
        personabot::store::messages::message(store.reader(), MessageId(1))
            .await
            .expect("read"),
        None
    );
});

both_backends!(bulk_delete_removes_only_those_ids, |store| async move {
    // 1..=1_100: more ids than one statement takes; some archived, some never logged.
    let msgs: Vec<_> = (1..=1_100u64)
        .map(|i| msg(i, 10, 100, t0() + Duration::seconds(i as i64), "m"))
        .collect();
    personabot::store::messages::append_messages(store.writer(), &msgs)
        .await
        .expect("append");
    personabot::store::archive::archive_messages(
        store.writer(),
        &[MessageId(2), MessageId(1_050)],
        t0(),
    )
    .await
    .expect("archive");
    let purge: Vec<MessageId> = (2..=1_050u64).chain([5_000]).map(MessageId).collect();
    assert_eq!(
        personabot::store::archive::delete_messages(store.writer(), &purge)
            .await
            .expect("bulk delete"),
        1_049
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM short_term_messages").await,
        51
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM archived_messages").await,
        0
    );
    assert!(
        personabot::store::messages::message(store.reader(), MessageId(1))
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        personabot::store::messages::message(store.reader(), MessageId(1_051))
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(
        personabot::store::archive::delete_messages(store.writer(), &[])
            .await
            .expect("nothing"),
        0
    );
});

both_backends!(archive_moves_exactly_once, |store| async move {
    let now = t0();
    let mut bot = msg(4, 10, 900, now - Duration::hours(50), "bot says");
    bot.is_bot = true;
    personabot::store::messages::append_messages(
        store.writer(),
        &[
            msg(1, 10, 100, now - Duration::hours(50), "old 1"),
            msg(2, 10, 100, now - Duration::hours(49), "old 2"),
            msg(3, 10, 100, now - Duration::hours(1), "fresh"),
            bot,
            msg(5, 10, 101, now - Duration::hours(48), "other"),
        ],
    )
    .await
    .expect("append");
    let cutoff = now - Duration::hours(24);
    assert_eq!(
        personabot::store::messages::short_term_authors_before(store.reader(), cutoff)
            .await
            .expect("authors"),
        [member(100), member(101)]
    );
    let old = personabot::store::messages::short_term_of_member_before(
        store.reader(),
        member(100),
        cutoff,
    )
    .await
    .expect("old");
    assert_eq!(old.iter().map(|m| m.id.0).collect::<Vec<_>>(), [1, 2]);
    let ids: Vec<_> = old.iter().map(|m| m.id).collect();
    assert_eq!(
        personabot::store::archive::archive_messages(store.writer(), &ids, now)
            .await
            .expect("archive"),
        2
    );
    assert_eq!(
        personabot::store::archive::archive_messages(store.writer(), &ids, now)
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
    let archived = personabot::store::archive::archived_of_user(store.reader(), UserId(100))
        .await
        .expect("archived");
    assert_eq!(
        archived
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["old 1", "old 2"]
    );
    // Still reachable by id, from the archive.
    assert_eq!(
        personabot::store::messages::message(store.reader(), MessageId(2))
            .await
            .expect("read")
            .map(|m| m.content),
        Some("old 2".into())
    );
    // Inside a caller's transaction, rolled back: nothing moves.
    let txn = store.writer().begin().await.expect("begin");
    personabot::store::archive::archive_messages(&txn, &[MessageId(5)], now)
        .await
        .expect("archive in txn");
    txn.rollback().await.expect("rollback");
    assert_eq!(
        personabot::store::messages::message(store.reader(), MessageId(5))
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
    let stale = personabot::store::messages::short_term_before(
        store.reader(),
        cutoff,
        10,
        personabot::store::messages::Authors::Anyone,
    )
    .await
    .expect("stale");
    assert_eq!(stale.iter().map(|m| m.id.0).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(
        personabot::store::archive::purge_archived_before(
            store.writer(),
            now - Duration::hours(49) - Duration::minutes(30)
        )
        .await
        .expect("purge"),
        1
    );
    // Deletion request covers both tables.
    assert_eq!(
        personabot::store::archive::delete_user_messages(store.writer(), UserId(100))
            .await
            .expect("delete"),
        2
    );
    assert_eq!(
        personabot::store::messages::message(store.reader(), MessageId(3))
            .await
            .expect("read"),
        None
    );
});
