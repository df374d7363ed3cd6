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
use crate::ports::{CompletionRequest, LanguageModel, LlmError};
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
}

/// `model` behind a circuit breaker configured by the settings, on the real clock.
pub fn guarded(model: Arc<dyn LanguageModel>, settings: &OverloadSettings) -> Arc<GuardedModel> {
    Arc::new(GuardedModel::new(
        model,
        BreakerPolicy {
            failure_threshold: settings.breaker_failures,
            cool_down: Duration::from_secs(settings.breaker_cool_down_secs),
        },
        Arc::new(Instant::now),
    ))
}

impl GuardedModel {
    pub fn new(inner: Arc<dyn LanguageModel>, policy: BreakerPolicy, clock: Clock) -> Self {
        Self {
            inner,
            breaker: Arc::new(Mutex::new(CircuitBreaker::new(policy))),
            clock,
        }
    }

    fn state(&self) -> MutexGuard<'_, CircuitBreaker> {
        // The state machine cannot panic mid-update, so a poisoned lock still holds a
        // consistent state.
        self.breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A permit for one call, or the typed refusal (no network call is made).
    fn admit(&self) -> Result<Permit, LlmError> {
        let admission = self.state().admit((self.clock)());
        match admission {
            Admission::Refused { retry_in } => {
                crate::telemetry::metrics::model_error("unavailable");
                Err(LlmError::Unavailable { retry_in })
            }
            Admission::Trial => {
                tracing::info!("model circuit half-open: one trial call");
                Ok(self.permit())
            }
            Admission::Call => Ok(self.permit()),
        }
    }

    fn permit(&self) -> Permit {
        Permit {
            breaker: self.breaker.clone(),
            clock: self.clock.clone(),
            done: false,
        }
    }
}

/// One admitted call; reports its outcome once, or a failure when dropped unreported.
struct Permit {
    breaker: Arc<Mutex<CircuitBreaker>>,
    clock: Clock,
    done: bool,
}

impl Permit {
    fn finish<T>(mut self, result: &Result<T, LlmError>) {
        self.done = true;
        match result {
            Err(error) if error.is_outage() => self.record_failure(),
            // The server answered (even with something we cannot use): it is up.
            _ => self
                .breaker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .succeeded(),
        }
    }

    fn record_failure(&self) {
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
        if !self.done {
            self.record_failure();
        }
    }
}

#[async_trait]
impl LanguageModel for GuardedModel {
    async fn complete(&self, request: CompletionRequest) -> Result<String, LlmError> {
        let permit = self.admit()?;
        let result = self.inner.complete(request).await;
        permit.finish(&result);
        result
    }

    /// Through the breaker too, keeping the server's token counts for the budgets.
    async fn complete_metered(&self, request: CompletionRequest) -> Result<Metered, LlmError> {
        let permit = self.admit()?;
        let result = self.inner.complete_metered(request).await;
        permit.finish(&result);
        result
    }

    async fn embed(&self, texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
        let permit = self.admit()?;
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

    fn setup() -> (Arc<Flaky>, GuardedModel, Arc<AtomicU64>) {
        let flaky = Arc::new(Flaky {
            down: true.into(),
            calls: AtomicU32::new(0),
        });
        let t0 = Instant::now();
        let secs = Arc::new(AtomicU64::new(0));
        let clock_secs = secs.clone();
        let clock: Clock =
            Arc::new(move || t0 + Duration::from_secs(clock_secs.load(Ordering::SeqCst)));
        let model = GuardedModel::new(
            flaky.clone(),
            BreakerPolicy {
                failure_threshold: 2,
                cool_down: Duration::from_secs(30),
            },
            clock,
        );
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
        let permit = model.admit().expect("closed");
        permit.finish::<()>(&Err(LlmError::Malformed("x".into())));
        let permit = model.admit().expect("closed");
        drop(permit);
        let permit = model.admit().expect("one failure is below the threshold");
        drop(permit);
        assert!(model.health().refusing, "two abandoned calls opened it");
    }
}
