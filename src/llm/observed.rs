//! The model as operators see it: a decorator of any `LanguageModel` that counts every call
//! by kind and outcome, times it, and stamps the app's `Vitals` with the server's last
//! answer or outage (what `/readyz` reads). It sits inside the circuit breaker, so it sees
//! only calls that were really made; the breaker counts its own refusals.

use crate::domain::breaker::ModelHealth;
use crate::domain::budget::TokenUsage;
use crate::ports::language_model::Metered;
use crate::ports::{CompletionRequest, LanguageModel, LlmError, ModelRole};
use crate::telemetry::metrics::{self, ModelCall, RateLimited};
use crate::telemetry::vitals::Vitals;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;

pub struct ObservedModel {
    inner: Arc<dyn LanguageModel>,
    vitals: Arc<Vitals>,
}

/// `model`, observed into `vitals` and the metrics.
pub fn observed(model: Arc<dyn LanguageModel>, vitals: Arc<Vitals>) -> Arc<dyn LanguageModel> {
    Arc::new(ObservedModel {
        inner: model,
        vitals,
    })
}

impl ObservedModel {
    fn record<T>(&self, kind: ModelCall, started: Instant, result: &Result<T, LlmError>) {
        let error = result.as_ref().err();
        metrics::model_call(kind, started.elapsed(), error.map(LlmError::kind));
        match error {
            Some(error) if error.is_outage() => self.vitals.model_failed(),
            // A missing embedding model is consolidation's fallback, not a refused bot.
            Some(error)
                if error.is_operator_error()
                    && !(matches!(kind, ModelCall::Embed) && error.is_model_missing()) =>
            {
                self.vitals.model_answered();
                self.vitals.model_refused(Some(error.to_string()));
            }
            Some(_) => self.vitals.model_answered(),
            None => {
                self.vitals.model_answered();
                self.vitals.model_refused(None);
            }
        }
        if error.is_some_and(|e| e.kind() == "rate_limited") {
            metrics::rate_limited(RateLimited::Model);
        }
    }
}

fn kind_of(request: &CompletionRequest) -> ModelCall {
    match request.role {
        ModelRole::Chat => ModelCall::Chat,
        ModelRole::Judge => ModelCall::Judge,
    }
}

#[async_trait]
impl LanguageModel for ObservedModel {
    async fn complete(&self, request: CompletionRequest) -> Result<String, LlmError> {
        let (kind, started) = (kind_of(&request), Instant::now());
        let result = self.inner.complete(request).await;
        self.record(kind, started, &result);
        result
    }

    async fn complete_metered(&self, request: CompletionRequest) -> Result<Metered, LlmError> {
        let (kind, started) = (kind_of(&request), Instant::now());
        let result = self.inner.complete_metered(request).await;
        self.record(kind, started, &result);
        result
    }

    async fn embed(&self, texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
        let started = Instant::now();
        let result = self.inner.embed(texts).await;
        if !matches!(result, Ok(None)) {
            self.record(ModelCall::Embed, started, &result);
        }
        result
    }

    fn embedding_model(&self) -> Option<String> {
        self.inner.embedding_model()
    }

    fn usage(&self) -> TokenUsage {
        self.inner.usage()
    }

    async fn probe(&self) -> Result<(), LlmError> {
        let started = Instant::now();
        let result = self.inner.probe().await;
        self.record(ModelCall::Probe, started, &result);
        result
    }

    fn profile(&self) -> Option<crate::domain::model_server::ServerProfile> {
        self.inner.profile()
    }

    fn health(&self) -> ModelHealth {
        self.inner.health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Answers, or fails as `failure` says.
    struct Scripted(Option<fn() -> LlmError>);

    #[async_trait]
    impl LanguageModel for Scripted {
        async fn complete(&self, _: CompletionRequest) -> Result<String, LlmError> {
            match self.0 {
                Some(failure) => Err(failure()),
                None => Ok("hi".into()),
            }
        }
        async fn embed(&self, _: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
            Ok(None)
        }
        fn embedding_model(&self) -> Option<String> {
            None
        }
    }

    async fn after_one_call(
        failure: Option<fn() -> LlmError>,
    ) -> crate::domain::health::ModelContact {
        let vitals = Arc::new(Vitals::default());
        let model = observed(Arc::new(Scripted(failure)), vitals.clone());
        let _ = model.complete(CompletionRequest::chat(Vec::new())).await;
        vitals.inputs(None, Duration::from_secs(60)).model
    }

    #[tokio::test]
    async fn answers_and_refusals_show_the_server_up_outages_do_not() {
        let ok = after_one_call(None).await;
        assert!(ok.answered.is_some() && ok.failed.is_none());
        let refused = after_one_call(Some(|| LlmError::Api {
            status: "400 Bad Request".into(),
            message: "no".into(),
        }))
        .await;
        assert!(refused.answered.is_some() && refused.failed.is_none());
        let down = after_one_call(Some(|| LlmError::Api {
            status: "503 Service Unavailable".into(),
            message: "down".into(),
        }))
        .await;
        assert!(down.answered.is_none() && down.failed.is_some());
    }
}
