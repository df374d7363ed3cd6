//! Persistence: SeaORM over SQLite (default) or PostgreSQL (large installs).
//!
//! # Layout
//! - `mod.rs`: [`Store`] (connect, migrate, pools), database errors classified into
//!   [`StoreError`] (defined by the store port), shared helpers.
//! - `admin`: administrative operations made of several queries.
//! - one file per table group (`messages`, `users`, `persona`, `facts`, `relationships`,
//!   `global_state`, `settings`, `consolidation`, `proactive`, `modlog`, `tickets`, `export`,
//!   `usage`, `leases`).
//! - `lock`: the exclusive lock that keeps a SQLite file to one process.
//!
//! Each file holds free query functions generic over [`ConnectionTrait`], so callers can run
//! several of them in one transaction. The StoreActor calls them straight from the port
//! tables (`ports::store_ops`), on the read pool for a read and the single writer connection
//! for a write; the few `Store` methods left are conveniences of the end-to-end tests and
//! benches. Everything returns domain types (`crate::domain`) or the small structs defined
//! here; entity rows never leave this module.
//!
//! # Why one writer
//! SQLite allows one writer at a time. With one writer connection and a read pool in WAL mode,
//! reads never block writes and writes never fail with SQLITE_BUSY against each other. The
//! PRAGMAs go through `map_sqlx_sqlite_opts` so they apply to every pooled connection, not just
//! the first one. On PostgreSQL one pool serves both roles.

pub mod admin;
pub mod archive;
pub mod console;
pub mod consolidation;
mod errors;
pub mod export;
pub mod facts;
pub mod global_state;
pub mod leases;
pub mod lock;
pub mod messages;
pub mod modlog;
pub mod persona;
pub mod proactive;
pub mod relationships;
pub mod settings;
pub mod tickets;
pub mod usage;
pub mod users;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, SqlErr};

/// Most rows (or ids) per statement in bulk writes: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound-parameter limits for every table here. A power of two, see
/// [`batches`].
pub const BATCH_ROWS: usize = 256;

/// Splits `items` into statement-sized pieces whose lengths are powers of two (full
/// `BATCH_ROWS` pieces, then the rest by its binary digits: 100 = 64 + 32 + 4).
///
/// Every length is a different SQL text, and each connection keeps its prepared statements:
/// plain `chunks` would leave up to a hundred statements of every size from 1 to 256 rows
/// in the writer's cache (an `INSERT` of 256 rows is a few hundred KB of compiled program),
/// megabytes that never go away. With powers of two there are at most nine shapes, at the
/// cost of at most eight statements more per batch.
pub fn batches<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let take = if rest.len() >= BATCH_ROWS {
            BATCH_ROWS
        } else {
            1 << rest.len().ilog2()
        };
        let (piece, tail) = rest.split_at(take);
        rest = tail;
        Some(piece)
    })
}

pub use crate::ports::store::{StoreError, StoreResult};

/// Pool and SQLite tuning.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Size of the SQLite read pool (PostgreSQL: the shared pool gets this plus one).
    pub max_read_connections: u32,
    /// How long SQLite waits on a lock before failing with SQLITE_BUSY.
    pub busy_timeout: Duration,
}

/// How long a caller waits for a free pooled connection before the query fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_read_connections: 4,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// One connection (or pool) the query functions run on; `Store::reader`/`writer` hand them
/// out. Named here so callers outside `store/` need not name sea-orm.
pub type Connection = DatabaseConnection;

/// Handle to the database. Cheap to clone (pools are reference-counted).
#[derive(Clone, Debug)]
pub struct Store {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
    /// True when `reader` is a clone of `writer` (PostgreSQL, in-memory SQLite).
    shared: bool,
    embedding_model: Option<String>,
}

impl Store {
    /// Connects, creates the SQLite file (and its directory) if needed, and runs migrations.
    ///
    /// `sqlite://path/bot.sqlite?mode=rwc`, `sqlite::memory:` (one connection shared by
    /// readers and writer, since each in-memory connection is its own database) or
    /// `postgres://...`.
    pub async fn connect(url: &str, opts: StoreOptions) -> StoreResult<Store> {
        let store = if is_sqlite(url) {
            prepare_sqlite_dir(url)?;
            let writer = Database::connect(sqlite_options(url, 1, &opts)).await?;
            Migrator::up(&writer, None).await?;
            if is_sqlite_memory(url) {
                Store {
                    reader: writer.clone(),
                    writer,
                    shared: true,
                    embedding_model: None,
                }
            } else {
                let reader =
                    Database::connect(sqlite_options(url, opts.max_read_connections.max(1), &opts))
                        .await?;
                Store {
                    writer,
                    reader,
                    shared: false,
                    embedding_model: None,
                }
            }
        } else {
            let mut co = ConnectOptions::new(url);
            co.max_connections(opts.max_read_connections.max(1) + 1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .sqlx_logging(false);
            let pool = Database::connect(co).await?;
            Migrator::up(&pool, None).await?;
            Store {
                reader: pool.clone(),
                writer: pool,
                shared: true,
                embedding_model: None,
            }
        };
        tracing::info!(backend = ?store.writer.get_database_backend(), "store connected");
        Ok(store)
    }

    /// Applies pending migrations and disconnects (the `migrate` subcommand).
    pub async fn migrate_only(url: &str) -> StoreResult<()> {
        let opts = StoreOptions::default();
        let conn = if is_sqlite(url) {
            prepare_sqlite_dir(url)?;
            Database::connect(sqlite_options(url, 1, &opts)).await?
        } else {
            Database::connect(ConnectOptions::new(url)).await?
        };
        Migrator::up(&conn, None).await?;
        conn.close().await?;
        Ok(())
    }

    /// The single write connection: begin transactions here.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// The read pool (same pool as the writer on PostgreSQL).
    pub fn reader(&self) -> &DatabaseConnection {
        &self.reader
    }

    pub fn backend(&self) -> DbBackend {
        self.writer.get_database_backend()
    }

    /// Sets the embedding model the bot uses now. New facts' embeddings are stamped with it,
    /// and facts read back carry an embedding only if it came from this model (vectors from
    /// different models are not comparable). Without one: nothing is stamped and any stored
    /// embedding is returned.
    pub fn with_embedding_model(mut self, model: impl Into<String>) -> Self {
        self.embedding_model = Some(model.into());
        self
    }

    /// The embedding model facts are stamped with (see [`Store::with_embedding_model`]).
    pub fn embedding_model(&self) -> Option<&str> {
        self.embedding_model.as_deref()
    }

    /// Checks both pools answer.
    pub async fn ping(&self) -> StoreResult<()> {
        self.writer.ping().await?;
        if !self.shared {
            self.reader.ping().await?;
        }
        Ok(())
    }

    /// Checks the read pool answers: cheap, and never queued behind a long write on the
    /// SQLite writer connection (readiness asks this).
    pub async fn ping_reader(&self) -> StoreResult<()> {
        Ok(self.reader.ping().await?)
    }

    /// Closes the pools (checkpointing the SQLite WAL when the last connection goes).
    pub async fn close(self) -> StoreResult<()> {
        if !self.shared {
            self.reader.close().await?;
        }
        self.writer.close().await?;
        Ok(())
    }
}

/// A store on an existing SQLite file whose every connection refuses writes
/// (`PRAGMA query_only`): the check that a request marked as a read does not write.
#[cfg(test)]
pub(crate) async fn read_only_sqlite(url: &str) -> StoreResult<Store> {
    let mut co = ConnectOptions::new(url);
    co.max_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o: SqliteConnectOptions| o.pragma("query_only", "ON"));
    let conn = Database::connect(co).await?;
    Ok(Store {
        reader: conn.clone(),
        writer: conn,
        shared: true,
        embedding_model: None,
    })
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

fn is_sqlite_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The file of a SQLite URL (`None`: PostgreSQL or in-memory).
pub(crate) fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if !is_sqlite(url) || is_sqlite_memory(url) {
        return None;
    }
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty()).then(|| std::path::PathBuf::from(path))
}

/// Creates the parent directory of a SQLite file so `mode=rwc` can create the file itself.
fn prepare_sqlite_dir(url: &str) -> StoreResult<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(parent) = Path::new(&path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

fn sqlite_options(url: &str, max_connections: u32, opts: &StoreOptions) -> ConnectOptions {
    let busy = opts.busy_timeout;
    let memory = is_sqlite_memory(url);
    let mut co = ConnectOptions::new(url);
    co.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // An idle in-memory connection must never be dropped: it would take the database along.
        .idle_timeout(if memory {
            None
        } else {
            Some(Duration::from_secs(600))
        })
        .max_lifetime(None)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o: SqliteConnectOptions| {
            let o = o
                .create_if_missing(true)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy)
                .foreign_keys(true);
            if memory {
                o
            } else {
                o.journal_mode(SqliteJournalMode::Wal)
            }
        });
    co
}

/// Timestamps are stored with microsecond precision (PostgreSQL's), so a value reads back
/// equal to what was written on both backends.
pub(crate) fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Trims and checks a piece of user-supplied text.
pub(crate) fn valid_text(field: &str, value: &str, max_chars: usize) -> StoreResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(StoreError::Invalid(format!("{field} must not be empty")));
    }
    let len = trimmed.chars().count();
    if len > max_chars {
        return Err(StoreError::Invalid(format!(
            "{field} is {len} characters long; the limit is {max_chars}"
        )));
    }
    Ok(trimmed.to_owned())
}

pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Counts from `u64` for `i32` columns, saturating.
pub(crate) fn to_i32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod batch_tests {
    use super::{BATCH_ROWS, batches};

    #[test]
    fn batches_cover_everything_in_order_with_few_shapes() {
        for n in [0, 1, 2, 3, 100, 255, 256, 257, 1000, 5000] {
            let items: Vec<usize> = (0..n).collect();
            let pieces: Vec<&[usize]> = batches(&items).collect();
            assert_eq!(pieces.concat(), items, "n = {n}");
            assert!(
                pieces
                    .iter()
                    .all(|p| p.len().is_power_of_two() && p.len() <= BATCH_ROWS)
            );
        }
        let items = [0u8; 100];
        let lengths: Vec<usize> = batches(&items).map(<[u8]>::len).collect();
        assert_eq!(lengths, [64, 32, 4]);
        let shapes: std::collections::BTreeSet<usize> = (1..2000)
            .flat_map(|n| batches(&vec![0u8; n]).map(<[u8]>::len).collect::<Vec<_>>())
            .collect();
        assert_eq!(shapes.len(), 9);
    }
}
