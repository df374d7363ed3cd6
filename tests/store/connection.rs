//! Connecting, migrating and reconnecting, and the SQLite connection setup.

use crate::{both_backends, common, count, t0};
use personabot::domain::UserId;
use personabot::store::{Store, StoreOptions};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

both_backends!(connect_ping_and_reconnect, |store, db| async move {
    store.ping().await.expect("ping");
    personabot::store::global_state::global_set(
        store.writer(),
        personabot::domain::StateScope::BotWide,
        "boot_count",
        1,
        t0(),
    )
    .await
    .expect("write");
    // Migrations are idempotent: a second Store on the same database sees the data.
    let again = Store::connect(&db.url, StoreOptions::default())
        .await
        .expect("reconnect");
    assert_eq!(
        personabot::store::global_state::global_get(
            again.reader(),
            personabot::domain::StateScope::BotWide,
            "boot_count"
        )
        .await
        .expect("read"),
        Some(1)
    );
    again.close().await.expect("close");
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
    personabot::store::global_state::global_set(
        store.writer(),
        personabot::domain::StateScope::BotWide,
        "x",
        1,
        t0(),
    )
    .await
    .expect("write");
    store.close().await.expect("close");
}

#[tokio::test]
async fn sqlite_memory_shares_one_database() {
    let store = Store::connect("sqlite::memory:", StoreOptions::default())
        .await
        .expect("connect");
    personabot::store::global_state::global_set(
        store.writer(),
        personabot::domain::StateScope::BotWide,
        "x",
        3,
        t0(),
    )
    .await
    .expect("write");
    assert_eq!(
        personabot::store::global_state::global_get(
            store.reader(),
            personabot::domain::StateScope::BotWide,
            "x"
        )
        .await
        .expect("read"),
        Some(3)
    );
}

#[tokio::test]
async fn sqlite_foreign_keys_cascade_names() {
    let db = common::TestDb::new(common::Backend::Sqlite).await;
    let store = db.store().await;
    personabot::store::users::record_name(store.writer(), UserId(1), None, "a", t0())
        .await
        .expect("name");
    store
        .writer()
        .execute_unprepared("DELETE FROM users WHERE id = 1")
        .await
        .expect("delete user");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM user_names").await, 0);
}
