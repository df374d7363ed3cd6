//! One process per SQLite file.
//!
//! SQLite is the single-process default: its one writer connection, the StoreActor's
//! journal and the bot's in-memory state (the leases of a scale-out included) all assume
//! nobody else writes the file. A second process on the same file would not corrupt it
//! (SQLite locks), but it would answer every message a second time and roll its own day.
//! So the running bot holds an exclusive OS lock on `<database>.lock` for its lifetime,
//! and a second process is refused at start with a clear message.
//!
//! Why an OS file lock and not a lease row: the kernel drops it when the process dies,
//! however it dies, so a crashed bot never locks out its own restart, and it needs no
//! heartbeat. It is the standard library's `File::try_lock` (`flock` on Unix,
//! `LockFileEx` on Windows), so no crate is needed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

/// Held for as long as the process uses the SQLite file; dropping it unlocks.
#[derive(Debug)]
pub struct SqliteLock {
    _file: File,
    path: PathBuf,
}

impl SqliteLock {
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another personabot process is already using the SQLite database {database} (it holds \
         {lock}). SQLite serves one process; stop the other one, or move to PostgreSQL to run \
         several (docs/scaling.md)"
    )]
    InUse { database: String, lock: String },
    #[error("cannot lock the SQLite database ({lock}): {source}")]
    Io {
        lock: String,
        source: std::io::Error,
    },
}

/// Locks the SQLite file named by `url` for this process; `None` for PostgreSQL and
/// in-memory SQLite (nothing to share).
pub fn lock_database(url: &str) -> Result<Option<SqliteLock>, LockError> {
    let Some(database) = super::sqlite_file(url) else {
        return Ok(None);
    };
    let mut name = database.clone().into_os_string();
    name.push(".lock");
    let path = PathBuf::from(name);
    let shown = path.display().to_string();
    let io = |source| LockError::Io {
        lock: shown.clone(),
        source,
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(SqliteLock { _file: file, path })),
        Err(TryLockError::WouldBlock) => Err(LockError::InUse {
            database: database.display().to_string(),
            lock: shown,
        }),
        Err(TryLockError::Error(source)) => Err(io(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/bot.sqlite?mode=rwc", dir.path().display());
        let first = lock_database(&url).expect("first").expect("a file");
        let second = lock_database(&url).expect_err("second");
        assert!(
            second.to_string().contains("another personabot process")
                && second.to_string().contains("PostgreSQL"),
            "{second}"
        );
        drop(first);
        assert!(lock_database(&url).expect("after").is_some());
        assert!(lock_database("sqlite::memory:").expect("memory").is_none());
        assert!(lock_database("postgres://x@y/z").expect("pg").is_none());
    }
}
