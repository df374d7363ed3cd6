//! Opening what the app runs on besides its actors: the database (created and migrated on
//! first start) and the ops server.

use crate::config::Settings;
use crate::ports::LanguageModel;
use crate::store::{Store, StoreOptions};
use crate::telemetry::vitals::Vitals;
use anyhow::Context as _;
use std::sync::Arc;
use std::time::Duration;

/// Opens (creating and migrating if needed) the configured database.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_read_connections: settings.database.max_read_connections,
        busy_timeout: Duration::from_millis(settings.database.busy_timeout_ms),
    };
    Store::connect(&settings.database.url, options)
        .await
        .with_context(|| {
            format!(
                "could not open the database at {}",
                redact_url(&settings.database.url)
            )
        })
}

/// Hides a password in a database URL before it is shown.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The ops routes over this app's vitals, database and model.
pub(super) async fn start_ops(
    settings: &Settings,
    vitals: Arc<Vitals>,
    database: &Store,
    model: Arc<dyn LanguageModel>,
) -> crate::ops::Ops {
    let database = database.clone();
    let ping: crate::ops::DatabasePing = Arc::new(move || {
        let database = database.clone();
        Box::pin(async move { database.ping_reader().await.is_ok() })
    });
    crate::ops::start(&settings.ops, vitals, ping, model).await
}
