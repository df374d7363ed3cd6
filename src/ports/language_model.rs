//! The language-model port. Steps and actors hold an `Arc<dyn LanguageModel>` and never see
//! async-openai types, so a different backend (Ollama, vLLM, a test double) plugs in here.

use crate::domain::breaker::ModelHealth;
use crate::domain::budget::TokenUsage;
use crate::domain::chat_turn::ChatTurn;
use async_trait::async_trait;

/// Which model a request is for: the persona's voice, or a small structured judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelRole {
    Chat,
    Judge,
}

#[derive(Clone, Debug)]
pub struct CompletionRequest {
    pub turns: Vec<ChatTurn>,
    pub role: ModelRole,
    pub max_tokens: Option<u32>,
    /// `None` uses the configured temperature; judgements pass a low one.
    pub temperature: Option<f32>,
}

impl CompletionRequest {
    pub fn chat(turns: Vec<ChatTurn>) -> Self {
        Self {
            turns,
            role: ModelRole::Chat,
            max_tokens: None,
            temperature: None,
        }
    }

    pub fn judge(turns: Vec<ChatTurn>) -> Self {
        Self {
            turns,
            role: ModelRole::Judge,
            max_tokens: Some(300),
            temperature: Some(0.0),
        }
    }

    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("the model server answered {status}: {message}")]
    Api { status: String, message: String },
    #[error("could not reach the model server: {0}")]
    Transport(String),
    #[error("the model server sent a malformed response: {0}")]
    Malformed(String),
    #[error("the model returned no text")]
    Empty,
    /// The circuit breaker is open: no call was made.
    #[error("the model is unavailable (circuit open; next try in {retry_in:?})")]
    Unavailable { retry_in: std::time::Duration },
}

impl LlmError {
    /// Whether this is how a server fails when it is down or overloaded (timeouts, 5xx,
    /// 429 after retries, unreachable), as opposed to an answer we could not use.
    pub fn is_outage(&self) -> bool {
        match self {
            LlmError::Timeout(_) | LlmError::Transport(_) => true,
            // "503 Service Unavailable" (reqwest's StatusCode display) or a bare "503".
            LlmError::Api { status, .. } => status
                .split_whitespace()
                .next()
                .and_then(|code| code.parse::<u16>().ok())
                .is_some_and(|code| code >= 500 || code == 429),
            LlmError::Malformed(_) | LlmError::Empty | LlmError::Unavailable { .. } => false,
        }
    }
}

impl LlmError {
    /// The failure's kind, as metrics label it.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Timeout(_) => "timeout",
            LlmError::Api { status, .. } if status.starts_with("429") => "rate_limited",
            LlmError::Api { .. } => "api",
            LlmError::Transport(_) => "transport",
            LlmError::Malformed(_) => "malformed",
            LlmError::Empty => "empty",
            LlmError::Unavailable { .. } => "unavailable",
        }
    }

    /// The server does not have the requested model (Ollama answers 404 "model ... not
    /// found" until it is pulled): retrying cannot help until an operator acts.
    pub fn is_model_missing(&self) -> bool {
        match self {
            LlmError::Api { status, message } => {
                status.starts_with("404") || message.to_ascii_lowercase().contains("not found")
            }
            _ => false,
        }
    }
}

/// A completion with the tokens it cost, as the server reported them (`None`: it did not
/// say, or an adapter in between does not pass usage on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metered {
    pub text: String,
    pub usage: Option<TokenUsage>,
}

#[async_trait]
pub trait LanguageModel: Send + Sync + 'static {
    async fn complete(&self, request: CompletionRequest) -> Result<String, LlmError>;

    /// `complete`, with the call's token usage. Adapters that see usage override it; the
    /// default reports none (token budgets then estimate from the texts). A wrapper around
    /// another model should forward this method, not only `complete`.
    async fn complete_metered(&self, request: CompletionRequest) -> Result<Metered, LlmError> {
        let text = self.complete(request).await?;
        Ok(Metered { text, usage: None })
    }

    /// Embeds texts in order. `Ok(None)` when no embedding model is configured.
    async fn embed(&self, texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError>;

    /// Name stored beside each embedding, so vectors of different models are never compared.
    fn embedding_model(&self) -> Option<String>;

    /// Chat tokens used since start, as the server reported them (zero when it reports none).
    fn usage(&self) -> TokenUsage {
        TokenUsage::default()
    }

    /// A cheap request showing the model server is up (readiness asks it while the bot is
    /// idle); `Ok` when the server answered at all. Models that cannot tell say `Ok`.
    async fn probe(&self) -> Result<(), LlmError> {
        Ok(())
    }

    /// Whether calls are being refused (circuit breaker) and how many outages have ended;
    /// a model without a breaker is always healthy.
    fn health(&self) -> ModelHealth {
        ModelHealth::default()
    }
}
