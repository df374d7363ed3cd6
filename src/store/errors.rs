//! Database errors sorted into the store's classes where they are seen: transient (the
//! same operation may succeed later: the lane retries, callers say "try again") or a
//! refusal. Decided from the driver's error kind and the database's own codes, because
//! message texts change between driver versions and locales.

use super::StoreError;
use sea_orm::DbErr;

/// Sorts a database error into the store's classes: the database unreachable or busy for now
/// (worth retrying), or this statement refused. The error itself is kept as the source.
impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> Self {
        let transient = is_transient(&error);
        let cause: crate::ports::store::Cause = std::sync::Arc::new(error);
        if transient {
            StoreError::Unavailable(cause)
        } else {
            StoreError::Rejected(cause)
        }
    }
}

/// Decided from the driver's error kind, never from the message text: a pool timeout or a
/// closed pool, a broken connection (I/O, TLS, protocol, a crashed worker), or a database
/// code saying "busy now" (see [`transient_code`]).
fn is_transient(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match error {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed
            | Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_) => true,
            Sqlx::Database(db) => transient_code(db.as_ref()),
            _ => false,
        },
        // sea-orm's own connection failures (no driver error under them).
        DbErr::Conn(_) => true,
        _ => false,
    }
}

/// SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6) with any extended code (the low byte is the
/// primary code). PostgreSQL: connection exceptions (class 08), serialization failures and
/// deadlocks (40001, 40P01), the server shutting down or starting (57P01..57P03), too many
/// connections (53300) and a lock not available (55P03).
fn transient_code(db: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
    const SQLITE_BUSY: i64 = 5;
    const SQLITE_LOCKED: i64 = 6;
    let Some(code) = db.code() else { return false };
    if db
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        let primary = code.parse::<i64>().map_or(-1, |c| c & 0xff);
        return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    }
    if db
        .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return code.starts_with("08")
            || matches!(
                code.as_ref(),
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" | "55P03"
            );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StateScope;
    use crate::store::{Store, StoreOptions, global_state};
    use chrono::Utc;
    use sea_orm::{ConnectionTrait, Database};
    use std::time::Duration;

    #[tokio::test]
    async fn a_locked_sqlite_file_is_transient_a_constraint_is_not() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bot.sqlite").display()
        );
        let opts = StoreOptions {
            busy_timeout: Duration::from_millis(50),
            ..StoreOptions::default()
        };
        let store = Store::connect(&url, opts).await.expect("the database");
        // Another connection takes the write lock and keeps it.
        let holder = Database::connect(&url).await.expect("a second connection");
        holder
            .execute_unprepared("BEGIN IMMEDIATE")
            .await
            .expect("the write lock");
        let busy =
            global_state::global_set(store.writer(), StateScope::BotWide, "x", 1, Utc::now())
                .await
                .expect_err("the file is locked");
        assert!(
            matches!(busy, StoreError::Unavailable(_)) && busy.is_transient(),
            "{busy:?}"
        );
        // The driver's error is kept as the source.
        let source = std::error::Error::source(&busy).expect("a source");
        assert!(source.to_string().contains("locked"), "{source}");
        holder
            .execute_unprepared("ROLLBACK")
            .await
            .expect("released");

        // A statement the database refuses is permanent.
        let refused = store
            .writer()
            .execute_unprepared("INSERT INTO no_such_table VALUES (1)")
            .await
            .map_err(StoreError::from)
            .expect_err("no such table");
        assert!(
            matches!(refused, StoreError::Rejected(_)) && !refused.is_transient(),
            "{refused:?}"
        );
    }

    #[test]
    fn pool_failures_are_transient() {
        let timeout = DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout);
        assert!(StoreError::from(timeout).is_transient());
        let closed =
            sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(sea_orm::sqlx::Error::PoolClosed));
        assert!(StoreError::from(DbErr::Exec(closed)).is_transient());
        let decode =
            sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(sea_orm::sqlx::Error::RowNotFound));
        assert!(!StoreError::from(DbErr::Query(decode)).is_transient());
    }
}
