//! async-openai over any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp).
//!
//! One retry policy, owned here: async-openai's retry layer (429 and 5xx, honouring
//! `Retry-After`) with our retry count, over a reqwest client with connect and request
//! timeouts, inside an overall deadline. Nothing else in the bot retries model calls.

use super::profile::{ProbeTarget, discover};
use super::queue::CallQueue;
use crate::config::LlmSettings;
use crate::domain::budget::TokenUsage;
use crate::domain::chat_turn::alternating;
use crate::domain::hygiene::{clean_speech, strip_reasoning};
use crate::domain::model_server::{OutputCap, ProfileOverrides, ServerProfile, StructuredOutput};
use crate::domain::{ChatRole, ChatTurn};
use crate::ports::{CompletionRequest, LanguageModel, LlmError, Metered, ModelRole};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage, CompletionUsage,
    CreateChatCompletionRequest, StopConfiguration,
};
use async_openai::types::chat::{ResponseFormat, ResponseFormatJsonSchema};
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use std::sync::Mutex;
use std::time::Duration;
use tower::Layer;

pub struct OpenAiModel {
    client: Client<OpenAIConfig>,
    /// `llm.embedding_base_url`'s client, when embeddings come from another server.
    embeddings_client: Option<Client<OpenAIConfig>>,
    /// The same timed client, for the readiness probe (`GET {base}/models`).
    http: reqwest::Client,
    models_url: String,
    api_key: secrecy::SecretString,
    chat_model: String,
    judge_model: String,
    embedding_model: Option<String>,
    temperature: f32,
    max_reply_tokens: u32,
    deadline: Duration,
    /// Totals since start; a std Mutex because it is only held to add four numbers.
    usage: Mutex<TokenUsage>,
    base_url: String,
    overrides: ProfileOverrides,
    /// Found at the first call (`llm::profile`), then kept for the process's life.
    profile: tokio::sync::OnceCell<ServerProfile>,
    /// Calls in flight, up to the profile's concurrency, live replies first.
    queue: CallQueue,
    /// A window the server named when it refused a prompt as too long (0: none): smaller
    /// than the profile's, it wins from then on (the model was swapped, or the probes
    /// guessed).
    learned_window: std::sync::atomic::AtomicU32,
}

impl OpenAiModel {
    pub fn new(settings: &LlmSettings) -> Result<Self, LlmError> {
        let request_timeout = Duration::from_secs(settings.request_timeout_secs);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
            .timeout(request_timeout)
            .build()
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        let key = settings
            .api_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned())
            .unwrap_or_else(|| "none".into());
        let base = settings.base_url.trim_end_matches('/');
        let client_for = |base: &str| {
            let config = OpenAIConfig::new()
                .with_api_base(base)
                .with_api_key(key.clone());
            let service = OpenAIRetryLayer::new(settings.max_retries)
                .layer(ReqwestService::new(http.clone()));
            Client::with_config(config).with_http_service(service)
        };
        let client = client_for(base);
        // A server of its own for embeddings (llama.cpp serves one model per process).
        let embeddings_client = settings.embedding_base_url().map(client_for);
        // Each attempt may take the request timeout; Retry-After waits add a little on top.
        let attempts = u32::try_from(settings.max_retries)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let deadline = request_timeout.saturating_mul(attempts) + Duration::from_secs(5);
        Ok(Self {
            client,
            embeddings_client,
            http,
            models_url: format!("{base}/models"),
            api_key: key.into(),
            chat_model: settings.chat_model.clone(),
            judge_model: settings.judge_model().to_owned(),
            embedding_model: settings.embedding_model().map(str::to_owned),
            temperature: settings.temperature,
            max_reply_tokens: settings.max_reply_tokens,
            deadline,
            usage: Mutex::new(TokenUsage::default()),
            base_url: base.to_owned(),
            overrides: settings.profile_overrides(),
            profile: tokio::sync::OnceCell::new(),
            queue: CallQueue::default(),
            learned_window: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// The server's profile, asked for once (the first call waits for the probes, a few
    /// seconds at most).
    pub async fn server_profile(&self) -> &ServerProfile {
        self.profile
            .get_or_init(|| {
                discover(ProbeTarget {
                    http: &self.http,
                    base_url: &self.base_url,
                    api_key: &self.api_key,
                    chat_model: &self.chat_model,
                    // Listed by this server only when it also serves the embeddings.
                    embedding_model: self
                        .embeddings_client
                        .is_none()
                        .then_some(self.embedding_model.as_deref())
                        .flatten(),
                    overrides: &self.overrides,
                })
            })
            .await
    }

    /// The request as this server takes it: the strict turn layout, its output-cap field,
    /// stop sequences and structured output where it has them.
    #[allow(deprecated)] // `max_tokens`: what every server but OpenAI's still reads.
    fn request_body(
        &self,
        profile: &ServerProfile,
        request: &CompletionRequest,
        model: String,
    ) -> CreateChatCompletionRequest {
        let cap = request.max_tokens.unwrap_or(self.max_reply_tokens);
        let (max_tokens, max_completion_tokens) = match profile.output_cap {
            OutputCap::MaxTokens => (Some(cap), None),
            OutputCap::MaxCompletionTokens => (None, Some(cap)),
            OutputCap::Both => (Some(cap), Some(cap)),
        };
        let stop = (profile.stop_sequences && request.speech.is_some()).then(|| {
            // The model starting a new transcript line (`\n[14:02] Bob: …`) or the layout.
            StopConfiguration::StringArray(
                ["\n[0", "\n[1", "\n[2", "\n<notes>"]
                    .map(str::to_owned)
                    .to_vec(),
            )
        });
        let response_format = request
            .schema
            .as_ref()
            .and_then(|schema| match profile.structured {
                StructuredOutput::JsonSchema => Some(ResponseFormat::JsonSchema {
                    json_schema: ResponseFormatJsonSchema {
                        description: None,
                        name: schema.name.to_owned(),
                        schema: schema.schema.clone(),
                        strict: None,
                    },
                }),
                StructuredOutput::JsonMode => Some(ResponseFormat::JsonObject),
                StructuredOutput::Plain => None,
            });
        CreateChatCompletionRequest {
            messages: alternating(request.turns.clone())
                .iter()
                .map(to_message)
                .collect(),
            model,
            temperature: Some(request.temperature.unwrap_or(self.temperature)),
            max_tokens,
            max_completion_tokens,
            stop,
            response_format,
            // Same prompt, same answer where the server takes a seed (judgements at
            // temperature 0 become repeatable).
            seed: (profile.kind != crate::domain::model_server::ServerKind::OpenAi).then_some(7),
            ..Default::default()
        }
    }

    async fn within_deadline<T>(
        &self,
        fut: impl Future<Output = Result<T, OpenAIError>>,
    ) -> Result<T, LlmError> {
        match tokio::time::timeout(self.deadline, fut).await {
            Err(_) => Err(LlmError::Timeout(self.deadline)),
            Ok(result) => result.map_err(classify),
        }
    }
}

fn to_message(turn: &ChatTurn) -> ChatCompletionRequestMessage {
    let text = turn.content.clone();
    match turn.role {
        ChatRole::System => ChatCompletionRequestSystemMessage::from(text).into(),
        ChatRole::User => ChatCompletionRequestUserMessage::from(text).into(),
        ChatRole::Assistant => ChatCompletionRequestAssistantMessage::from(text).into(),
    }
}

/// Our usage from OpenAI's; servers that do not cache (or do not say) count 0 cached.
fn token_usage(usage: &CompletionUsage) -> TokenUsage {
    TokenUsage {
        prompt: u64::from(usage.prompt_tokens),
        completion: u64::from(usage.completion_tokens),
        cached: usage
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .map_or(0, u64::from),
        requests: 1,
    }
}

fn classify(error: OpenAIError) -> LlmError {
    match error {
        OpenAIError::ApiError(api) => LlmError::Api {
            status: api.status_code.to_string(),
            message: api.api_error.message.clone(),
        },
        OpenAIError::Reqwest(e) if e.is_timeout() => LlmError::Transport(format!("timed out: {e}")),
        OpenAIError::Reqwest(e) => LlmError::Transport(e.to_string()),
        OpenAIError::JSONDeserialize(e, _) => LlmError::Malformed(e.to_string()),
        other => LlmError::Transport(other.to_string()),
    }
}

#[async_trait]
impl LanguageModel for OpenAiModel {
    async fn complete(&self, request: CompletionRequest) -> Result<String, LlmError> {
        self.complete_metered(request).await.map(|m| m.text)
    }

    async fn complete_metered(&self, request: CompletionRequest) -> Result<Metered, LlmError> {
        let model = match request.role {
            ModelRole::Chat => self.chat_model.clone(),
            ModelRole::Judge => self.judge_model.clone(),
        };
        let profile = self.server_profile().await;
        let body = self.request_body(profile, &request, model.clone());
        let limit = usize::try_from(profile.concurrency).unwrap_or(1);
        let _place = self.queue.enter(request.priority, limit).await;
        let chat = self.client.chat();
        let response = match self.within_deadline(chat.create(body)).await {
            Err(error) => {
                if let Some(window) = error.context_overflow().and_then(|o| o.window) {
                    self.learned_window
                        .store(window, std::sync::atomic::Ordering::Relaxed);
                }
                return Err(error);
            }
            Ok(response) => response,
        };
        // A server that reports zeros has not counted: the budgets estimate instead.
        let usage = response
            .usage
            .as_ref()
            .map(token_usage)
            .filter(|u| u.prompt > 0 || u.completion > 0);
        if let Some(usage) = usage {
            tracing::info!(
                model = %model,
                role = ?request.role,
                prompt_tokens = usage.prompt,
                cached_tokens = usage.cached,
                completion_tokens = usage.completion,
                "model usage"
            );
            if let Ok(mut total) = self.usage.lock() {
                total.add(usage);
            }
        }
        let text = response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .unwrap_or_default();
        let text = match &request.speech {
            Some(speech) => clean_speech(&text, &speech.voice, speech.max_chars),
            None => strip_reasoning(&text),
        };
        if text.is_empty() {
            Err(LlmError::Empty)
        } else {
            Ok(Metered { text, usage })
        }
    }

    async fn embed(&self, texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
        let Some(model) = self.embedding_model.clone() else {
            return Ok(None);
        };
        if texts.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let body = CreateEmbeddingRequest {
            model,
            input: EmbeddingInput::StringArray(texts.to_vec()),
            ..Default::default()
        };
        let embeddings = self
            .embeddings_client
            .as_ref()
            .unwrap_or(&self.client)
            .embeddings();
        let mut response = self.within_deadline(embeddings.create(body)).await?;
        if response.data.len() != texts.len() {
            return Err(LlmError::Malformed(format!(
                "asked for {} embeddings, got {}",
                texts.len(),
                response.data.len()
            )));
        }
        response.data.sort_by_key(|d| d.index);
        Ok(Some(
            response.data.into_iter().map(|d| d.embedding).collect(),
        ))
    }

    fn embedding_model(&self) -> Option<String> {
        self.embedding_model.clone()
    }

    fn usage(&self) -> TokenUsage {
        self.usage.lock().map(|u| *u).unwrap_or_default()
    }

    fn profile(&self) -> Option<ServerProfile> {
        let mut profile = self.profile.get().cloned()?;
        let learned = self
            .learned_window
            .load(std::sync::atomic::Ordering::Relaxed);
        if learned > 0 && learned < profile.context_tokens {
            profile.context_tokens = learned;
            profile.context_source = crate::domain::model_server::Source::Server;
        }
        Some(profile)
    }

    /// `GET /models`: free on OpenAI, Ollama and vLLM. Any answer but a 5xx or 429 shows
    /// the server is up (a 404 from a server without the route included).
    async fn probe(&self) -> Result<(), LlmError> {
        // The first probe (at start) also finds the server's profile, so the first reply
        // is already sized to its window.
        let _ = self.server_profile().await;
        let request = self
            .http
            .get(&self.models_url)
            .bearer_auth(self.api_key.expose_secret())
            .timeout(PROBE_TIMEOUT);
        let response = request.send().await.map_err(|e| {
            LlmError::Transport(if e.is_timeout() {
                format!("timed out: {e}")
            } else {
                e.to_string()
            })
        })?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(LlmError::Api {
                status: status.to_string(),
                message: "the model server is not answering its model list".into(),
            });
        }
        Ok(())
    }
}

/// A probe is one small request; waiting longer than this means the server is in trouble.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_tokens_are_read_from_the_prompt_details() {
        let with: CompletionUsage = serde_json::from_value(serde_json::json!({
            "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0}
        }))
        .expect("OpenAI usage");
        assert_eq!(
            token_usage(&with),
            TokenUsage {
                prompt: 2006,
                completion: 300,
                cached: 1920,
                requests: 1
            }
        );
        let without: CompletionUsage = serde_json::from_value(serde_json::json!({
            "prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6
        }))
        .expect("a server that does not cache");
        assert_eq!(token_usage(&without).cached, 0);
    }
}
