//! A fresh, migrated database per test.
//!
//! SQLite: a file in a temporary directory (removed with it), opened through `Store::connect`
//! exactly as in production (WAL, writer + read pool). PostgreSQL: a new database
//! `t_<uuid>` created on the server named by `PERSONABOT_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped when the `TestDb` is dropped.

use personabot::store::{Store, StoreOptions};
use sea_orm::{ConnectionTrait, Database};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgDrop>,
}

/// The admin URL and the name of a database to drop.
struct PgDrop {
    admin_url: String,
    name: String,
}

/// The PostgreSQL server tests use.
pub fn pg_admin_url() -> String {
    std::env::var("PERSONABOT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// Replaces the database name (the last path segment) of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temporary directory");
                let url = format!("sqlite://{}/bot.sqlite?mode=rwc", dir.path().display());
                TestDb {
                    backend,
                    url,
                    _dir: Some(dir),
                    pg: None,
                }
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let admin = Database::connect(admin_url.as_str()).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL tests need a server at {admin_url} (set PERSONABOT_TEST_PG_URL to use another): {e}"
                    )
                });
                let name = format!("t_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin_url}: {e}"));
                let _ = admin.close().await;
                let url = with_database(&admin_url, &name);
                TestDb {
                    backend,
                    url,
                    _dir: None,
                    pg: Some(PgDrop { admin_url, name }),
                }
            }
        }
    }

    /// A connected, migrated store on this database.
    pub async fn store(&self) -> Store {
        self.store_with(StoreOptions::default()).await
    }

    pub async fn store_with(&self, opts: StoreOptions) -> Store {
        Store::connect(&self.url, opts)
            .await
            .unwrap_or_else(|e| panic!("Store::connect({}) failed: {e}", self.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(PgDrop { admin_url, name }) = self.pg.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on async work: use a
        // thread with its own runtime. FORCE ends connections the test left open.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn swaps_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
