//! The circuit breaker as a decorator of any `LanguageModel`: every model use (replies,
//! judgements, consolidation, the status line, proactive posts) goes through one breaker,
//! so a dead model server costs one timeout per cool-down instead of one per caller.
//!
//! The state machine is `domain::breaker`; this file only asks it before each call and
//! tells it how the call went. A call whose future is dropped before it finishes (its
//! caller's deadline passed) counts as a failure, so a trial can never stay "running".

use crate::config::OverloadSettings;
use crate::domain::breaker::{Admission, BreakerPolicy, CircuitBreaker, ModelHealth};
use crate::domain::budget::TokenUsage;
use crate::ports::language_model::Metered;
use crate::ports::{CompletionRequest, LanguageModel, LlmError, Priority};
use async_trait::async_trait;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Where the breaker reads the time; tests pass a hand-moved clock.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct GuardedModel {
    inner: Arc<dyn LanguageModel>,
    /// A std Mutex: held only to move the state machine, never across an await.
    breaker: Arc<Mutex<CircuitBreaker>>,
    clock: Clock,
    refusals: Arc<Refusals>,
}

/// Refusals only an operator can fix: what the server last refused (for `/readyz` and the
/// console), and 400s in a row (one 400 is a bad prompt; the same every time is a server
/// that refuses what this bot sends: a strict template, a wrong parameter).
pub struct Refusals {
    cool_down: Duration,
    last: Mutex<Option<String>>,
    bad_requests: std::sync::atomic::AtomicU32,
}

/// 400s in a row that count as a refusal.
const BAD_REQUESTS_IN_A_ROW: u32 = 3;

impl Refusals {
    fn new(cool_down: Duration) -> Self {
        Self {
            cool_down,
            last: Mutex::new(None),
            bad_requests: std::sync::atomic::AtomicU32::new(0),
        }
    }

    fn set(&self, what: Option<String>) {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = what;
    }

    /// What the server last refused, until a call succeeds.
    pub fn last(&self) -> Option<String> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether `error` is a refusal only the operator can fix (counting 400s in a row).
    fn is_refusal(&self, error: &LlmError) -> bool {
        use std::sync::atomic::Ordering;
        if error.is_operator_error() {
            return true;
        }
        if error.status_code() == Some(400) && error.context_overflow().is_none() {
            return self.bad_requests.fetch_add(1, Ordering::Relaxed) + 1 >= BAD_REQUESTS_IN_A_ROW;
        }
        false
    }

    fn answered(&self) {
        self.bad_requests
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.set(None);
    }
}

/// `model` behind a circuit breaker configured by the settings, on the real clock.
pub fn guarded(model: Arc<dyn LanguageModel>, settings: &OverloadSettings) -> Arc<GuardedModel> {
    Arc::new(
        GuardedModel::new(
            model,
            BreakerPolicy {
                failure_threshold: settings.breaker_failures,
                cool_down: Duration::from_secs(settings.breaker_cool_down_secs),
            },
            Arc::new(Instant::now),
        )
        .refusal_cool_down(Duration::from_secs(settings.breaker_refusal_cool_down_secs)),
    )
}

/// Between retries after an operator-only refusal, unless configured.
const REFUSAL_COOL_DOWN: Duration = Duration::from_secs(60);

impl GuardedModel {
    pub fn new(inner: Arc<dyn LanguageModel>, policy: BreakerPolicy, clock: Clock) -> Self {
        Self {
            inner,
            breaker: Arc::new(Mutex::new(CircuitBreaker::new(policy))),
            clock,
            refusals: Arc::new(Refusals::new(REFUSAL_COOL_DOWN)),
        }
    }

    /// How long the breaker stays open after a refusal only the operator can fix.
    pub fn refusal_cool_down(mut self, cool_down: Duration) -> Self {
        self.refusals = Arc::new(Refusals::new(cool_down));
        self
    }

    /// What the server last refused that only its operator can fix (a wrong key, a model
    /// it does not have, a request it always refuses), until a call succeeds.
    pub fn refusal(&self) -> Option<String> {
        self.refusals.last()
    }

    fn state(&self) -> MutexGuard<'_, CircuitBreaker> {
        // The state machine cannot panic mid-update, so a poisoned lock still holds a
        // consistent state.
        self.breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A permit for one call, or the typed refusal (no network call is made). A background
    /// call's failures do not count against the breaker live replies depend on (a slow
    /// server timing out a long extraction is no reason to refuse the next mention); its
    /// success still closes it, and an operator-only refusal opens it whoever met it.
    fn admit(&self, priority: Priority) -> Result<Permit, LlmError> {
        let admission = self.state().admit((self.clock)());
        match admission {
            Admission::Refused { retry_in } => {
                crate::telemetry::metrics::model_error("unavailable");
                Err(LlmError::Unavailable { retry_in })
            }
            Admission::Trial => {
                tracing::info!("model circuit half-open: one trial call");
                // A trial's failure must count whoever makes it, or the breaker stays
                // half-open with its trial "running".
                Ok(self.permit(Priority::Live))
            }
            Admission::Call => Ok(self.permit(priority)),
        }
    }

    fn permit(&self, priority: Priority) -> Permit {
        Permit {
            breaker: self.breaker.clone(),
            clock: self.clock.clone(),
            refusals: self.refusals.clone(),
            counts_failures: priority == Priority::Live,
            embedding: false,
            done: false,
        }
    }
}

/// One admitted call; reports its outcome once, or a failure when dropped unreported.
struct Permit {
    breaker: Arc<Mutex<CircuitBreaker>>,
    clock: Clock,
    refusals: Arc<Refusals>,
    counts_failures: bool,
    /// An embedding call: a missing embedding model is no refusal of the chat model.
    embedding: bool,
    done: bool,
}

impl Permit {
    fn finish<T>(mut self, result: &Result<T, LlmError>) {
        self.done = true;
        match result {
            // No embedding model on the server (Ollama before a pull): consolidation falls
            // back to lexical matching; the chat model may well be there.
            Err(error) if self.embedding && error.is_model_missing() => {}
            Err(error) if self.refusals.is_refusal(error) => self.record_refusal(error),
            Err(error) if error.is_outage() => self.record_failure(),
            // A 400 not yet repeated: the server is up, this request was wrong.
            Err(error) if error.status_code() == Some(400) => {}
            // The server answered (even with something we cannot use): it is up.
            _ => {
                if result.is_ok() {
                    self.refusals.answered();
                }
                self.breaker
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .succeeded()
            }
        }
    }

    fn record_refusal(&self, error: &LlmError) {
        let what = error.to_string();
        let now = (self.clock)();
        let mut breaker = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let was_refusing = breaker.health(now).refusing;
        breaker.refused(now, self.refusals.cool_down);
        drop(breaker);
        if !was_refusing {
            tracing::error!(
                refused = %what,
                retry_in = ?self.refusals.cool_down,
                "the model server refuses what only its operator can fix (the key, the model \
                 name, the request); model calls are refused until it is fixed"
            );
        }
        self.refusals.set(Some(what));
    }

    fn record_failure(&self) {
        if !self.counts_failures {
            return;
        }
        let now = (self.clock)();
        let mut breaker = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let was_refusing = breaker.health(now).refusing;
        breaker.failed(now);
        let health = breaker.health(now);
        drop(breaker);
        if health.refusing && !was_refusing {
            tracing::warn!(
                failures = health.failures,
                "model circuit open: calls fail fast until the cool-down is over"
            );
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done && self.counts_failures {
            self.record_failure();
        }
    }
}

#[async_trait]
impl LanguageModel for GuardedModel {
    async fn complete(&self, request: CompletionRequest) -> Result<String, LlmError> {
        let permit = self.admit(request.priority)?;
        let result = self.inner.complete(request).await;
        permit.finish(&result);
        result
    }

    /// Through the breaker too, keeping the server's token counts for the budgets.
    async fn complete_metered(&self, request: CompletionRequest) -> Result<Metered, LlmError> {
        let permit = self.admit(request.priority)?;
        let result = self.inner.complete_metered(request).await;
        permit.finish(&result);
        result
    }

    async fn embed(&self, texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
        // Embeddings are consolidation's: background.
        let mut permit = self.admit(Priority::Background)?;
        permit.embedding = true;
        let result = self.inner.embed(texts).await;
        permit.finish(&result);
        result
    }

    fn embedding_model(&self) -> Option<String> {
        self.inner.embedding_model()
    }

    fn usage(&self) -> TokenUsage {
        self.inner.usage()
    }

    /// Not through the breaker: a probe asks whether the server is up, it is no call.
    async fn probe(&self) -> Result<(), LlmError> {
        self.inner.probe().await
    }

    fn profile(&self) -> Option<crate::domain::model_server::ServerProfile> {
        self.inner.profile()
    }

    fn health(&self) -> ModelHealth {
        self.state().health((self.clock)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

    /// A model that fails (503) while `down` and counts the calls that reach it.
    struct Flaky {
        down: std::sync::atomic::AtomicBool,
        calls: AtomicU32,
    }

    #[async_trait]
    impl LanguageModel for Flaky {
        async fn complete(&self, _: CompletionRequest) -> Result<String, LlmError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                Err(LlmError::Api {
                    status: "503 Service Unavailable".into(),
                    message: "down".into(),
                })
            } else {
                Ok("hi".into())
            }
        }
        async fn embed(&self, _: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
            Ok(None)
        }
        fn embedding_model(&self) -> Option<String> {
            None
        }
    }

    /// `inner` behind a breaker (30 s cool-down) on a clock the test moves in seconds.
    fn guard(
        inner: Arc<dyn LanguageModel>,
        failure_threshold: u32,
    ) -> (GuardedModel, Arc<AtomicU64>) {
        let t0 = Instant::now();
        let secs = Arc::new(AtomicU64::new(0));
        let clock_secs = secs.clone();
        let clock: Clock =
            Arc::new(move || t0 + Duration::from_secs(clock_secs.load(Ordering::SeqCst)));
        let policy = BreakerPolicy {
            failure_threshold,
            cool_down: Duration::from_secs(30),
        };
        (GuardedModel::new(inner, policy, clock), secs)
    }

    fn setup() -> (Arc<Flaky>, GuardedModel, Arc<AtomicU64>) {
        let flaky = Arc::new(Flaky {
            down: true.into(),
            calls: AtomicU32::new(0),
        });
        let (model, secs) = guard(flaky.clone(), 2);
        (flaky, model, secs)
    }

    fn ask() -> CompletionRequest {
        CompletionRequest::chat(Vec::new())
    }

    #[tokio::test]
    async fn open_breaker_fails_fast_then_one_trial_closes_it() {
        let (flaky, model, secs) = setup();
        for _ in 0..2 {
            assert!(matches!(
                model.complete(ask()).await,
                Err(LlmError::Api { .. })
            ));
        }
        assert!(model.health().refusing);
        for _ in 0..5 {
            assert!(matches!(
                model.complete(ask()).await,
                Err(LlmError::Unavailable { .. })
            ));
        }
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 2, "no call while open");
        secs.store(30, Ordering::SeqCst);
        flaky.down.store(false, Ordering::SeqCst);
        assert_eq!(model.complete(ask()).await.ok().as_deref(), Some("hi"));
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
        assert_eq!(model.health().recoveries, 1);
        assert!(!model.health().refusing);
    }

    #[test]
    fn outages_are_timeouts_server_errors_and_unreachable_servers() {
        let api = |status: &str| LlmError::Api {
            status: status.into(),
            message: String::new(),
        };
        assert!(api("503 Service Unavailable").is_outage());
        assert!(api("429 Too Many Requests").is_outage());
        assert!(api("500").is_outage());
        assert!(!api("400 Bad Request").is_outage());
        assert!(!api("401 Unauthorized").is_outage());
        assert!(LlmError::Timeout(Duration::from_secs(1)).is_outage());
        assert!(LlmError::Transport("connection refused".into()).is_outage());
        assert!(!LlmError::Empty.is_outage());
        assert!(
            !LlmError::Unavailable {
                retry_in: Duration::ZERO
            }
            .is_outage()
        );
    }

    #[tokio::test]
    async fn unusable_answers_do_not_count_and_abandoned_calls_do() {
        let (_flaky, model, _secs) = setup();
        let permit = model.admit(Priority::Live).expect("closed");
        permit.finish::<()>(&Err(LlmError::Malformed("x".into())));
        let permit = model.admit(Priority::Live).expect("closed");
        drop(permit);
        let permit = model
            .admit(Priority::Live)
            .expect("one failure is below the threshold");
        drop(permit);
        assert!(model.health().refusing, "two abandoned calls opened it");
    }

    /// A server that answers every call with `status`.
    struct Answering {
        status: std::sync::Mutex<&'static str>,
        calls: AtomicU32,
    }

    #[async_trait]
    impl LanguageModel for Answering {
        async fn complete(&self, _: CompletionRequest) -> Result<String, LlmError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let status = *self.status.lock().expect("status");
            if status.starts_with("200") {
                return Ok("hi".into());
            }
            Err(LlmError::Api {
                status: status.into(),
                message: "refused".into(),
            })
        }
        async fn embed(&self, _: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
            Err(LlmError::Api {
                status: "404 Not Found".into(),
                message: "model \"nomic-embed-text\" not found, try pulling it first".into(),
            })
        }
        fn embedding_model(&self) -> Option<String> {
            Some("nomic-embed-text".into())
        }
    }

    fn answering(status: &'static str) -> (Arc<Answering>, GuardedModel, Arc<AtomicU64>) {
        let server = Arc::new(Answering {
            status: std::sync::Mutex::new(status),
            calls: AtomicU32::new(0),
        });
        let (model, secs) = guard(server.clone(), 3);
        (
            server,
            model.refusal_cool_down(Duration::from_secs(120)),
            secs,
        )
    }

    #[tokio::test]
    async fn a_wrong_key_opens_at_once_and_retries_slowly() {
        let (server, model, secs) = answering("401 Unauthorized");
        assert!(model.complete(ask()).await.is_err());
        assert!(model.health().refusing && model.health().in_outage);
        assert!(model.refusal().is_some_and(|r| r.contains("401")));
        for _ in 0..10 {
            assert!(matches!(
                model.complete(ask()).await,
                Err(LlmError::Unavailable { .. })
            ));
        }
        assert_eq!(
            server.calls.load(Ordering::SeqCst),
            1,
            "one call per cool-down"
        );
        secs.store(60, Ordering::SeqCst);
        assert!(matches!(
            model.complete(ask()).await,
            Err(LlmError::Unavailable { .. })
        ));
        secs.store(121, Ordering::SeqCst);
        *server.status.lock().expect("status") = "200 OK";
        assert!(model.complete(ask()).await.is_ok());
        assert!(model.refusal().is_none());
        assert!(!model.health().in_outage);
    }

    #[tokio::test]
    async fn the_same_400_three_times_is_a_refusal_but_one_is_not() {
        let (server, model, _) = answering("400 Bad Request");
        assert!(model.complete(ask()).await.is_err());
        assert!(!model.health().refusing, "one bad request proves nothing");
        assert!(model.complete(ask()).await.is_err());
        assert!(model.complete(ask()).await.is_err());
        assert!(model.health().refusing);
        assert_eq!(server.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn background_failures_do_not_open_the_breaker() {
        let (_, model, _) = answering("503 Service Unavailable");
        for _ in 0..10 {
            assert!(model.complete(ask().in_background()).await.is_err());
        }
        assert!(!model.health().refusing);
        for _ in 0..3 {
            assert!(model.complete(ask()).await.is_err());
        }
        assert!(model.health().refusing, "live failures still do");
    }

    #[tokio::test]
    async fn a_missing_embedding_model_is_no_refusal_of_the_chat_model() {
        let (_, model, _) = answering("200 OK");
        for _ in 0..5 {
            assert!(model.embed(&["x".into()]).await.is_err());
        }
        assert!(!model.health().refusing);
        assert!(model.complete(ask()).await.is_ok());
    }
}
