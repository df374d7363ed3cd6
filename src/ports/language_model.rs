//! The language-model port. Steps and actors hold an `Arc<dyn LanguageModel>` and never see
//! async-openai types, so a different backend (Ollama, vLLM, a test double) plugs in here.

use crate::domain::breaker::ModelHealth;
use crate::domain::budget::TokenUsage;
use crate::domain::chat_turn::ChatTurn;
use crate::domain::model_server::ServerProfile;
use async_trait::async_trait;

/// Which model a request is for: the persona's voice, or a small structured judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelRole {
    Chat,
    Judge,
}

/// Who waits for the answer: a member who just spoke, or nobody in particular. A local
/// server works on one or a few requests at a time; live replies go first and background
/// work (judgements, consolidation, proactive posts, the status line) waits its turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Live,
    Background,
}

/// Text the persona will say in chat: cleaned by `domain::hygiene::clean_speech` (reasoning,
/// echoed `[time] Name:` prefixes, the model writing other members' lines, the length cap)
/// before anyone sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Speech {
    /// The persona's name, as the transcript shows the bot's lines.
    pub voice: String,
    pub max_chars: usize,
}

/// A JSON schema the answer must follow where the server can enforce one (the tolerant
/// parser reads the answer either way).
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerSchema {
    pub name: &'static str,
    pub schema: serde_json::Value,
}

#[derive(Clone, Debug)]
pub struct CompletionRequest {
    pub turns: Vec<ChatTurn>,
    pub role: ModelRole,
    pub max_tokens: Option<u32>,
    /// `None` uses the configured temperature; judgements pass a low one.
    pub temperature: Option<f32>,
    pub priority: Priority,
    /// Set for text the persona says in chat.
    pub speech: Option<Speech>,
    pub schema: Option<AnswerSchema>,
}

impl CompletionRequest {
    /// In the persona's voice, for a member waiting on it.
    pub fn chat(turns: Vec<ChatTurn>) -> Self {
        Self {
            turns,
            role: ModelRole::Chat,
            max_tokens: None,
            temperature: None,
            priority: Priority::Live,
            speech: None,
            schema: None,
        }
    }

    /// A small structured judgement, in the background.
    pub fn judge(turns: Vec<ChatTurn>) -> Self {
        Self {
            turns,
            role: ModelRole::Judge,
            max_tokens: Some(300),
            temperature: Some(0.0),
            priority: Priority::Background,
            speech: None,
            schema: None,
        }
    }

    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// A member is waiting on it: it goes before background calls.
    pub fn live(mut self) -> Self {
        self.priority = Priority::Live;
        self
    }

    /// Nobody is waiting: it queues behind live replies.
    pub fn in_background(mut self) -> Self {
        self.priority = Priority::Background;
        self
    }

    /// The answer is said in chat by `voice`, at most `max_chars` long.
    pub fn spoken_by(mut self, voice: &str, max_chars: usize) -> Self {
        self.speech = Some(Speech {
            voice: voice.to_owned(),
            max_chars,
        });
        self
    }

    /// The answer follows `schema` where the server can enforce it.
    pub fn with_schema(mut self, name: &'static str, schema: serde_json::Value) -> Self {
        self.schema = Some(AnswerSchema { name, schema });
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
    /// The HTTP status the server answered with, if it answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            // "503 Service Unavailable" (reqwest's StatusCode display) or a bare "503".
            LlmError::Api { status, .. } => status
                .split_whitespace()
                .next()
                .and_then(|code| code.parse::<u16>().ok()),
            _ => None,
        }
    }

    /// Whether this is how a server fails when it is down or overloaded (timeouts, 5xx,
    /// 429 after retries, unreachable), as opposed to an answer we could not use.
    pub fn is_outage(&self) -> bool {
        match self {
            LlmError::Timeout(_) | LlmError::Transport(_) => true,
            LlmError::Api { .. } => self
                .status_code()
                .is_some_and(|code| code >= 500 || code == 429),
            LlmError::Malformed(_) | LlmError::Empty | LlmError::Unavailable { .. } => false,
        }
    }

    /// A refusal only an operator can fix: the key (401, 403) or the model name (404).
    /// Retrying every call cannot help; the breaker opens at once and retries slowly.
    pub fn is_operator_error(&self) -> bool {
        matches!(self.status_code(), Some(401 | 403 | 404))
    }

    /// A 400 the server gives because the prompt is longer than its window, with the
    /// numbers it said: `(window, prompt tokens)` where it gave them (vLLM: "This model's
    /// maximum context length is 2048 tokens. However, you requested 5000 tokens (4800 in
    /// the messages, 200 in the completion)"; llama.cpp: "the request exceeds the available
    /// context size (4096 tokens)"; OpenAI: "maximum context length is 128000 tokens").
    pub fn context_overflow(&self) -> Option<ContextOverflow> {
        let LlmError::Api { message, .. } = self else {
            return None;
        };
        let lower = message.to_ascii_lowercase();
        let is_overflow = self.status_code().is_some_and(|c| c == 400 || c == 413)
            && (lower.contains("context length")
                || lower.contains("context size")
                || lower.contains("context window")
                || lower.contains("too many tokens")
                || lower.contains("prompt is too long"));
        if !is_overflow {
            return None;
        }
        // The window is the number right after the phrase that names it (llama.cpp says
        // the request's size first: "request (5030 tokens) exceeds the available context
        // size (4096 tokens)").
        let window = [
            "context length is",
            "context size (",
            "context size of",
            "context window of",
        ]
        .iter()
        .find_map(|phrase| lower.find(phrase).map(|at| &lower[at + phrase.len()..]))
        .and_then(first_number);
        let requested = ["you requested", "request (", "prompt has"]
            .iter()
            .find_map(|phrase| lower.find(phrase).map(|at| &lower[at + phrase.len()..]))
            .and_then(first_number);
        Some(ContextOverflow { window, requested })
    }
}

/// The first whole number in `text`, if it starts within a few characters.
fn first_number(text: &str) -> Option<u32> {
    let start = text
        .find(|c: char| c.is_ascii_digit())
        .filter(|at| *at <= 8)?;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    fn api(status: &str, message: &str) -> LlmError {
        LlmError::Api {
            status: status.into(),
            message: message.into(),
        }
    }

    #[test]
    fn each_servers_words_give_its_window() {
        let vllm = api(
            "400 Bad Request",
            "This model's maximum context length is 2048 tokens. However, you requested 5000 tokens (4800 in the messages, 200 in the completion).",
        );
        assert_eq!(
            vllm.context_overflow(),
            Some(ContextOverflow {
                window: Some(2048),
                requested: Some(5000)
            })
        );
        let llamacpp = api(
            "400 Bad Request",
            "request (5030 tokens) exceeds the available context size (4096 tokens), try increasing it",
        );
        assert_eq!(
            llamacpp.context_overflow(),
            Some(ContextOverflow {
                window: Some(4096),
                requested: Some(5030)
            })
        );
        let vague = api("400 Bad Request", "prompt is too long");
        assert_eq!(
            vague.context_overflow(),
            Some(ContextOverflow {
                window: None,
                requested: None
            })
        );
        assert_eq!(
            api("400 Bad Request", "Conversation roles must alternate").context_overflow(),
            None
        );
        assert_eq!(
            api("500 Internal Server Error", "context length is 10").context_overflow(),
            None
        );
    }

    #[test]
    fn operator_errors_are_the_key_and_the_model_name() {
        assert!(api("401 Unauthorized", "bad key").is_operator_error());
        assert!(api("404 Not Found", "no such model").is_operator_error());
        assert!(!api("400 Bad Request", "x").is_operator_error());
        assert!(!api("503 Service Unavailable", "x").is_operator_error());
        assert!(api("503 Service Unavailable", "x").is_outage());
    }
}

/// What a server said when a prompt did not fit (numbers where it gave them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextOverflow {
    pub window: Option<u32>,
    pub requested: Option<u32>,
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

    /// What the model server was found to be at start (`llm::profile`); `None` for models
    /// that are not behind a server. A wrapper forwards it.
    fn profile(&self) -> Option<ServerProfile> {
        None
    }
}
