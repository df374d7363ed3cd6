//! What the bot did, as seen by the fakes: recorded REST requests and the append-only logs
//! tests wait on.
//!
//! Tests never sleep: they wait on a [`Log`] with a deadline. A wait first looks at what is
//! already recorded (the bot may have been faster than the test), then wakes on every new
//! entry until the predicate matches or the deadline passes.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, broadcast};

/// One HTTP request the bot made to the fake Discord.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// As received, still percent-encoded, e.g. `/api/v10/channels/4000/messages`.
    pub path: String,
    /// Without the leading `?` or `?&` serenity writes, e.g. `delete_message_seconds=86400`.
    pub query: String,
    /// Lower-case names. `x-audit-log-reason` is percent-decoded.
    pub headers: BTreeMap<String, String>,
    /// The JSON body; for multipart requests the `payload_json` part.
    pub body: Option<Value>,
    /// Multipart file parts as (file name, contents).
    pub files: Vec<(String, Vec<u8>)>,
}

impl RecordedRequest {
    /// `"POST /api/v10/channels/4000/messages"`: handy in assertions and error messages.
    pub fn summary(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Whether this is `method` on a path containing `path_part`.
    pub fn is(&self, method: &str, path_part: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.path.contains(path_part)
    }

    /// The path with percent-escapes decoded (reaction emoji become `👍`).
    pub fn decoded_path(&self) -> String {
        percent_encoding::percent_decode_str(&self.path)
            .decode_utf8_lossy()
            .into_owned()
    }

    /// A query parameter's value.
    pub fn query_param(&self, key: &str) -> Option<String> {
        parse_query(&self.query).remove(key)
    }

    /// The `X-Audit-Log-Reason` the bot gave, decoded.
    pub fn audit_reason(&self) -> Option<&str> {
        self.headers.get("x-audit-log-reason").map(String::as_str)
    }

    /// `body.content` as a string, if any (message sends, edits, followups).
    pub fn content(&self) -> Option<&str> {
        let body = self.body.as_ref()?;
        body.get("content")
            .or_else(|| body.get("data").and_then(|d| d.get("content")))
            .and_then(Value::as_str)
    }
}

/// Splits `a=1&b=2` (tolerating serenity's leading `&`) into decoded pairs.
pub fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// A wait that did not see what it waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The deadline passed. `seen` summarises what *was* recorded, to debug the test.
    Timeout {
        what: String,
        waited: Duration,
        seen: Vec<String>,
    },
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Timeout { what, waited, seen } => {
                write!(
                    f,
                    "timed out after {waited:?} waiting for {what}; recorded so far: "
                )?;
                if seen.is_empty() {
                    write!(f, "nothing")
                } else {
                    write!(f, "\n  {}", seen.join("\n  "))
                }
            }
        }
    }
}

impl std::error::Error for WaitError {}

/// Locks a std mutex, ignoring poisoning: a panicking test thread must not cascade into
/// every later request of the fake.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An append-only log with waiters and a broadcast feed.
#[derive(Debug)]
pub(crate) struct Log<T: Clone> {
    items: Mutex<Vec<T>>,
    notify: Notify,
    feed: broadcast::Sender<T>,
}

impl<T: Clone> Log<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            items: Mutex::new(Vec::new()),
            notify: Notify::new(),
            feed: broadcast::channel(1024).0,
        })
    }

    pub(crate) fn push(&self, item: T) {
        lock(&self.items).push(item.clone());
        // No subscribers is fine.
        let _ = self.feed.send(item);
        self.notify.notify_waiters();
    }

    pub(crate) fn snapshot(&self) -> Vec<T> {
        lock(&self.items).clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<T> {
        self.feed.subscribe()
    }

    /// Waits for the first entry (already recorded or future) matching `pred`.
    pub(crate) async fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&T) -> bool,
        timeout: Duration,
        describe: impl Fn(&T) -> String,
    ) -> Result<T, WaitError> {
        let found = wait_until(&self.notify, timeout, || {
            lock(&self.items).iter().find(|i| pred(i)).cloned()
        })
        .await;
        found.ok_or_else(|| WaitError::Timeout {
            what: what.to_owned(),
            waited: timeout,
            seen: lock(&self.items)
                .iter()
                .rev()
                .take(30)
                .rev()
                .map(describe)
                .collect(),
        })
    }
}

/// Re-checks `check` each time `notify` fires, until it returns `Some` or `timeout` passes.
pub(crate) async fn wait_until<R>(
    notify: &Notify,
    timeout: Duration,
    check: impl Fn() -> Option<R>,
) -> Option<R> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        // Register before checking, so a push between the check and the await is not missed.
        notified.as_mut().enable();
        if let Some(r) = check() {
            return Some(r);
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return check();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tolerates_serenity_prefix() {
        let q = parse_query("?&delete_message_seconds=86400&reason=a%20b");
        assert_eq!(
            q.get("delete_message_seconds").map(String::as_str),
            Some("86400")
        );
        assert_eq!(q.get("reason").map(String::as_str), Some("a b"));
    }

    #[tokio::test]
    async fn wait_sees_past_and_future_entries() {
        let log = Log::<u32>::new();
        log.push(1);
        assert_eq!(
            log.wait_for("1", |x| *x == 1, Duration::from_millis(10), u32::to_string)
                .await,
            Ok(1)
        );
        let l2 = log.clone();
        let waiter = tokio::spawn(async move {
            l2.wait_for("2", |x| *x == 2, Duration::from_secs(5), u32::to_string)
                .await
        });
        tokio::task::yield_now().await;
        log.push(2);
        assert_eq!(waiter.await.unwrap(), Ok(2));
        let err = log
            .wait_for("3", |x| *x == 3, Duration::from_millis(20), u32::to_string)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("waiting for 3"));
    }
}
