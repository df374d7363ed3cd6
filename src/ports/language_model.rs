//! The language-model port. Steps and actors hold an `Arc<dyn LanguageModel>` and never see
//! async-openai types, so a different backend (Ollama, vLLM, a test double) plugs in here.

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
}

#[async_trait]
pub trait LanguageModel: Send + Sync + 'static {
    async fn complete(&self, request: CompletionRequest) -> Result<String, LlmError>;

    /// Embeds texts in order. `Ok(None)` when no embedding model is configured.
    async fn embed(&self, texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError>;

    /// Name stored beside each embedding, so vectors of different models are never compared.
    fn embedding_model(&self) -> Option<String>;

    /// Chat tokens used since start, as the server reported them (zero when it reports none).
    fn usage(&self) -> TokenUsage {
        TokenUsage::default()
    }
}
