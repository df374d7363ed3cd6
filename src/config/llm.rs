//! The model server section (`llm`): where the model runs, which models, how long to wait,
//! and what the settings fix of the server's profile. Kept apart from `config/mod.rs` so
//! each file stays readable.

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Clone, Deserialize)]
pub struct LlmSettings {
    pub base_url: String,
    pub chat_model: String,
    pub judge_model: String,
    pub embedding_model: String,
    /// Another server for the embeddings (empty: `base_url`).
    pub embedding_base_url: String,
    pub temperature: f32,
    pub max_reply_tokens: u32,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
    pub max_retries: usize,
    /// The model-server profile's overrides (`domain::model_server`); "auto" / 0 = as found.
    pub server_kind: String,
    pub context_tokens: u32,
    pub output_cap: String,
    pub structured_output: String,
    pub max_concurrency: u32,
    /// From `PERSONABOT__LLM__API_KEY` only (local servers accept any key).
    #[serde(skip)]
    pub api_key: Option<SecretString>,
}

impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &self.base_url)
            .field("chat_model", &self.chat_model)
            .field("judge_model", &self.judge_model)
            .field("embedding_model", &self.embedding_model)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("max_retries", &self.max_retries)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

impl LlmSettings {
    pub fn judge_model(&self) -> &str {
        if self.judge_model.trim().is_empty() {
            &self.chat_model
        } else {
            &self.judge_model
        }
    }

    /// The embeddings' own server, when it is not `base_url`.
    pub fn embedding_base_url(&self) -> Option<&str> {
        let url = self.embedding_base_url.trim().trim_end_matches('/');
        (!url.is_empty() && url != self.base_url.trim_end_matches('/')).then_some(url)
    }

    pub fn embedding_model(&self) -> Option<&str> {
        let m = self.embedding_model.trim();
        (!m.is_empty()).then_some(m)
    }

    /// What the settings fix of the server's profile ("auto" and 0 leave it to the probes).
    pub fn profile_overrides(&self) -> crate::domain::model_server::ProfileOverrides {
        use crate::domain::model_server::{OutputCap, ServerKind, StructuredOutput};
        crate::domain::model_server::ProfileOverrides {
            kind: ServerKind::parse(&self.server_kind),
            context_tokens: (self.context_tokens > 0).then_some(self.context_tokens),
            output_cap: OutputCap::parse(&self.output_cap),
            structured: StructuredOutput::parse(&self.structured_output),
            concurrency: (self.max_concurrency > 0).then_some(self.max_concurrency),
        }
    }
}
