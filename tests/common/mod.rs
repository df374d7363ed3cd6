//! Helpers shared by integration tests: fresh databases on both backends.
//!
//! Each test binary includes this with `mod common;`; not every binary uses every helper.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod db;

pub use db::{Backend, TestDb};

/// Writes a test once and runs it on SQLite and PostgreSQL, each with a fresh database:
/// `both_backends!(name, |store| async move { ... });` (or `|store, db|` to also get the
/// [`TestDb`]) generates `name::sqlite` and
/// `name::postgres`. The PostgreSQL variant fails (it does not skip) when the server is
/// unreachable. `cargo test sqlite` / `cargo test postgres` select one backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:expr) => {
        $crate::both_backends!($name, |$store, _db| $body);
    };
    ($name:ident, |$store:ident, $db:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $db = $crate::common::TestDb::new($crate::common::Backend::Sqlite).await;
                let $store = $db.store().await;
                $body.await;
            }

            #[tokio::test]
            async fn postgres() {
                let $db = $crate::common::TestDb::new($crate::common::Backend::Postgres).await;
                let $store = $db.store().await;
                $body.await;
            }
        }
    };
}
