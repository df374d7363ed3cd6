//! What kind of model server the bot talks to, and what it can take.
//!
//! "OpenAI-compatible" servers differ where it hurts: the context window (vLLM refuses a
//! longer prompt with a 400, Ollama silently cuts it from the start, so the persona goes
//! first), which output-cap parameter they read, whether they constrain JSON to a schema,
//! and how many requests they serve at once (a llama.cpp server with one slot). The profile
//! is read from the server's own answers at start (`llm::profile` asks; the rules that read
//! the answers are here, pure) and every item can be fixed in `settings.yaml`.

use serde_json::Value;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    OpenAi,
    Ollama,
    Vllm,
    LlamaCpp,
    LmStudio,
    Other,
}

impl ServerKind {
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::OpenAi => "OpenAI",
            ServerKind::Ollama => "Ollama",
            ServerKind::Vllm => "vLLM",
            ServerKind::LlamaCpp => "llama.cpp",
            ServerKind::LmStudio => "LM Studio",
            ServerKind::Other => "an OpenAI-compatible server",
        }
    }

    /// From a setting: `openai`, `ollama`, `vllm`, `llamacpp`/`llama.cpp`, `lmstudio`, `other`.
    pub fn parse(text: &str) -> Option<Self> {
        let t: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match t.as_str() {
            "openai" => ServerKind::OpenAi,
            "ollama" => ServerKind::Ollama,
            "vllm" => ServerKind::Vllm,
            "llamacpp" => ServerKind::LlamaCpp,
            "lmstudio" => ServerKind::LmStudio,
            "other" => ServerKind::Other,
            _ => return None,
        })
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Which request field caps the answer's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputCap {
    /// OpenAI's current field; its reasoning models refuse `max_tokens`.
    MaxCompletionTokens,
    /// What llama.cpp, Ollama and LM Studio read.
    MaxTokens,
    /// Both (vLLM and unknown servers read one or the other; neither refuses the pair).
    Both,
}

impl OutputCap {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "max_completion_tokens" => OutputCap::MaxCompletionTokens,
            "max_tokens" => OutputCap::MaxTokens,
            "both" => OutputCap::Both,
            _ => return None,
        })
    }
}

/// How the server can be held to JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: {type: json_schema}`: the answer follows the schema.
    JsonSchema,
    /// `response_format: {type: json_object}`: some JSON object.
    JsonMode,
    /// Plain text; the tolerant parser finds the JSON.
    Plain,
}

impl StructuredOutput {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "json_schema" | "schema" => StructuredOutput::JsonSchema,
            "json_object" | "json_mode" | "json" => StructuredOutput::JsonMode,
            "none" | "plain" => StructuredOutput::Plain,
            _ => return None,
        })
    }
}

/// Where a profile item came from, so the console can say why it is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `settings.yaml` or the environment.
    Setting,
    /// The server said so.
    Server,
    /// Nothing said: the safe default.
    Default,
}

/// What the bot knows about the model server it talks to.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ServerProfile {
    pub kind: ServerKind,
    /// Prompt plus answer must fit in this many tokens.
    pub context_tokens: u32,
    pub context_source: Source,
    pub output_cap: OutputCap,
    pub structured: StructuredOutput,
    /// Requests the server works on at once (llama.cpp's slots); more wait in the bot.
    pub concurrency: u32,
    /// Whether the configured embedding model is listed by the server (`None`: not asked,
    /// or the server lists no models).
    pub embedding_listed: Option<bool>,
    /// Models the server lists, for the console's choices.
    pub models: Vec<String>,
    /// Whether stop sequences are sent (OpenAI's reasoning models refuse them).
    pub stop_sequences: bool,
}

/// A server that answers none of the probes: what every server takes.
pub const DEFAULT_CONTEXT_TOKENS: u32 = 4_096;

impl ServerProfile {
    /// The profile of a server that said nothing about itself.
    pub fn fallback(kind: ServerKind) -> Self {
        let (output_cap, structured) = defaults_for(kind);
        Self {
            kind,
            context_tokens: DEFAULT_CONTEXT_TOKENS,
            context_source: Source::Default,
            output_cap,
            structured,
            concurrency: if kind == ServerKind::OpenAi { 8 } else { 1 },
            embedding_listed: None,
            models: Vec::new(),
            stop_sequences: kind != ServerKind::OpenAi,
        }
    }

    /// A line for logs and the console.
    pub fn summary(&self) -> String {
        format!(
            "{} · context {} tokens ({}) · {} at once · JSON {}",
            self.kind,
            self.context_tokens,
            match self.context_source {
                Source::Setting => "set",
                Source::Server => "from the server",
                Source::Default => "default",
            },
            self.concurrency,
            match self.structured {
                StructuredOutput::JsonSchema => "by schema",
                StructuredOutput::JsonMode => "mode",
                StructuredOutput::Plain => "parsed from text",
            }
        )
    }
}

fn defaults_for(kind: ServerKind) -> (OutputCap, StructuredOutput) {
    match kind {
        ServerKind::OpenAi => (OutputCap::MaxCompletionTokens, StructuredOutput::JsonSchema),
        ServerKind::Vllm | ServerKind::LlamaCpp | ServerKind::LmStudio | ServerKind::Ollama => {
            (OutputCap::Both, StructuredOutput::JsonSchema)
        }
        ServerKind::Other => (OutputCap::MaxTokens, StructuredOutput::Plain),
    }
}

/// What the probes brought back (each `None` when that endpoint did not answer with JSON).
#[derive(Clone, Debug, Default)]
pub struct ProbeAnswers {
    pub base_url: String,
    /// `GET {base}/models`
    pub models: Option<Value>,
    /// llama.cpp's `GET /props`
    pub llamacpp_props: Option<Value>,
    /// Ollama's `GET /api/version`
    pub ollama_version: Option<Value>,
    /// Ollama's `POST /api/show` for the chat model
    pub ollama_show: Option<Value>,
    /// LM Studio's `GET /api/v0/models`
    pub lmstudio_models: Option<Value>,
}

/// The settings' say over each item (`None`: ask the server).
#[derive(Clone, Debug, Default)]
pub struct ProfileOverrides {
    pub kind: Option<ServerKind>,
    pub context_tokens: Option<u32>,
    pub output_cap: Option<OutputCap>,
    pub structured: Option<StructuredOutput>,
    pub concurrency: Option<u32>,
}

/// The profile from the probes' answers and the settings.
pub fn profile_from(
    answers: &ProbeAnswers,
    chat_model: &str,
    embedding_model: Option<&str>,
    overrides: &ProfileOverrides,
) -> ServerProfile {
    let kind = overrides.kind.unwrap_or_else(|| detect_kind(answers));
    let mut profile = ServerProfile::fallback(kind);
    profile.models = model_ids(answers.models.as_ref());
    if let Some(embedding) = embedding_model
        && !profile.models.is_empty()
    {
        profile.embedding_listed = Some(profile.models.iter().any(|m| same_model(m, embedding)));
    }
    if let Some(tokens) = server_context(kind, answers, chat_model) {
        profile.context_tokens = tokens;
        profile.context_source = Source::Server;
    }
    if let Some(slots) = answers
        .llamacpp_props
        .as_ref()
        .and_then(|p| p.get("total_slots"))
        .and_then(Value::as_u64)
    {
        profile.concurrency = u32::try_from(slots).unwrap_or(1).max(1);
    }
    if let Some(tokens) = overrides.context_tokens.filter(|t| *t > 0) {
        profile.context_tokens = tokens;
        profile.context_source = Source::Setting;
    }
    if let Some(cap) = overrides.output_cap {
        profile.output_cap = cap;
    }
    if let Some(structured) = overrides.structured {
        profile.structured = structured;
    }
    if let Some(n) = overrides.concurrency.filter(|n| *n > 0) {
        profile.concurrency = n;
    }
    profile
}

/// Ollama names models `name:tag`; `llama3.1` is `llama3.1:latest`.
fn same_model(listed: &str, wanted: &str) -> bool {
    let norm = |s: &str| s.strip_suffix(":latest").unwrap_or(s).to_ascii_lowercase();
    norm(listed) == norm(wanted)
}

fn detect_kind(answers: &ProbeAnswers) -> ServerKind {
    if answers.base_url.contains("api.openai.com") {
        return ServerKind::OpenAi;
    }
    if answers
        .ollama_version
        .as_ref()
        .is_some_and(|v| v.get("version").is_some())
    {
        return ServerKind::Ollama;
    }
    if answers.llamacpp_props.as_ref().is_some_and(|p| {
        p.get("default_generation_settings").is_some() || p.get("total_slots").is_some()
    }) {
        return ServerKind::LlamaCpp;
    }
    if answers
        .lmstudio_models
        .as_ref()
        .is_some_and(|m| m.get("data").is_some())
    {
        return ServerKind::LmStudio;
    }
    let owners: Vec<&str> = answers
        .models
        .as_ref()
        .and_then(|m| m.get("data"))
        .and_then(Value::as_array)
        .map(|data| {
            data.iter()
                .filter_map(|d| d.get("owned_by").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if owners.contains(&"vllm") {
        ServerKind::Vllm
    } else if owners.contains(&"llamacpp") {
        ServerKind::LlamaCpp
    } else {
        ServerKind::Other
    }
}

fn model_ids(models: Option<&Value>) -> Vec<String> {
    models
        .and_then(|m| m.get("data"))
        .and_then(Value::as_array)
        .map(|data| {
            data.iter()
                .filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn as_u32(value: Option<&Value>) -> Option<u32> {
    value
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
}

/// The window the server runs with (not the one the model was trained for, where the two
/// differ: llama.cpp's `n_ctx`, Ollama's runtime default).
fn server_context(kind: ServerKind, answers: &ProbeAnswers, chat_model: &str) -> Option<u32> {
    let listed = answers
        .models
        .as_ref()
        .and_then(|m| m.get("data"))
        .and_then(Value::as_array)
        .and_then(|data| {
            data.iter()
                .find(|d| {
                    d.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| same_model(id, chat_model))
                })
                .or_else(|| data.first())
        });
    match kind {
        ServerKind::Vllm => as_u32(listed.and_then(|m| m.get("max_model_len"))),
        ServerKind::LlamaCpp => {
            let props = answers.llamacpp_props.as_ref();
            as_u32(props.and_then(|p| p.pointer("/default_generation_settings/n_ctx")))
                .or_else(|| as_u32(props.and_then(|p| p.get("n_ctx"))))
                .or_else(|| as_u32(listed.and_then(|m| m.pointer("/meta/n_ctx_train"))))
        }
        ServerKind::LmStudio => {
            let data = answers
                .lmstudio_models
                .as_ref()
                .and_then(|m| m.get("data"))
                .and_then(Value::as_array);
            let entry = data.and_then(|d| {
                d.iter().find(|m| {
                    m.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| same_model(id, chat_model))
                })
            });
            as_u32(entry.and_then(|m| m.get("loaded_context_length")))
                .or_else(|| as_u32(entry.and_then(|m| m.get("max_context_length"))))
        }
        ServerKind::Ollama => Some(ollama_context(answers)),
        ServerKind::OpenAi | ServerKind::Other => {
            as_u32(listed.and_then(|m| m.get("max_model_len")))
                .or_else(|| as_u32(listed.and_then(|m| m.get("context_length"))))
        }
    }
}

/// Ollama's OpenAI endpoint runs every model at the runtime's default window (2,048 tokens
/// before 0.6, 4,096 since), whatever the model was trained for, and cuts a longer prompt
/// from the start. `OLLAMA_CONTEXT_LENGTH` changes it on the server: set
/// `llm.context_tokens` to match.
fn ollama_context(answers: &ProbeAnswers) -> u32 {
    let version = answers
        .ollama_version
        .as_ref()
        .and_then(|v| v.get("version"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let runtime = if major == 0 && minor < 6 {
        2_048
    } else {
        DEFAULT_CONTEXT_TOKENS
    };
    let trained = answers
        .ollama_show
        .as_ref()
        .and_then(|s| s.get("model_info"))
        .and_then(Value::as_object)
        .and_then(|info| {
            info.iter()
                .find(|(k, _)| k.ends_with(".context_length"))
                .and_then(|(_, v)| as_u32(Some(v)))
        });
    trained.map_or(runtime, |t| t.min(runtime))
}

/// The reply prompt's budgets within a server's window: prompt plus the answer's cap must
/// fit, with a margin for the chat template's own tokens and for counting differences
/// (ours errs high against o200k, but another model's tokenizer can count more). Where the
/// window is smaller than the configured total, every part shrinks in proportion, so the
/// persona and rules keep their share instead of the transcript crowding them out.
pub fn budget_within(
    configured: crate::domain::budget::PromptBudget,
    window: u32,
    answer_cap: u32,
) -> crate::domain::budget::PromptBudget {
    let window = usize::try_from(window).unwrap_or(usize::MAX);
    let reserve = usize::try_from(answer_cap).unwrap_or(0) + 64 + window / 8;
    let room = window.saturating_sub(reserve).max(MIN_PROMPT_TOKENS);
    if room >= configured.total {
        return configured;
    }
    let scale = |part: usize| part * room / configured.total.max(1);
    crate::domain::budget::PromptBudget {
        total: room,
        transcript: scale(configured.transcript),
        persona: scale(configured.persona),
        facts: scale(configured.facts),
        reply_to: scale(configured.reply_to),
    }
}

/// Below this a reply prompt has no room for its rules: a window that small gets the
/// smallest prompt there is and the server's refusal, not a prompt without its rules.
const MIN_PROMPT_TOKENS: usize = 768;

/// The window to fit a retry into after the server refused a prompt as too long: the
/// window it named, else three quarters of the one the prompt was sized for.
pub fn window_after_overflow(said: Option<u32>, sized_for: u32) -> u32 {
    said.filter(|w| *w < sized_for)
        .unwrap_or(sized_for.saturating_mul(3) / 4)
}

#[cfg(test)]
mod budget_tests {
    use super::*;
    use crate::domain::budget::PromptBudget;

    const CONFIGURED: PromptBudget = PromptBudget {
        total: 8000,
        transcript: 6000,
        persona: 1200,
        facts: 600,
        reply_to: 300,
    };

    #[test]
    fn a_large_window_keeps_the_settings() {
        assert_eq!(budget_within(CONFIGURED, 128_000, 400), CONFIGURED);
    }

    #[test]
    fn a_small_window_shrinks_every_part_alike() {
        let b = budget_within(CONFIGURED, 2048, 400);
        assert!(b.total + 400 <= 2048, "{b:?}");
        assert!(b.total >= 1300, "{b:?}");
        let share = b.persona as f64 / b.total as f64;
        assert!(
            (share - 0.15).abs() < 0.01,
            "the persona keeps its share: {b:?}"
        );
        assert!(b.transcript < CONFIGURED.transcript && b.facts < CONFIGURED.facts);
    }

    #[test]
    fn after_an_overflow_the_retry_is_smaller() {
        assert_eq!(window_after_overflow(Some(2048), 4096), 2048);
        assert_eq!(
            window_after_overflow(Some(8192), 4096),
            3072,
            "a bigger number is no window"
        );
        assert_eq!(window_after_overflow(None, 4096), 3072);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answers(base: &str) -> ProbeAnswers {
        ProbeAnswers {
            base_url: base.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_silent_server_gets_safe_defaults() {
        let p = profile_from(
            &answers("http://10.0.0.2:9000/v1"),
            "m",
            None,
            &ProfileOverrides::default(),
        );
        assert_eq!(p.kind, ServerKind::Other);
        assert_eq!(p.context_tokens, 4_096);
        assert_eq!(p.context_source, Source::Default);
        assert_eq!(p.output_cap, OutputCap::MaxTokens);
        assert_eq!(p.structured, StructuredOutput::Plain);
        assert_eq!(p.concurrency, 1);
    }

    #[test]
    fn vllm_says_its_window_in_the_model_list() {
        let mut a = answers("http://127.0.0.1:8000/v1");
        a.models = Some(
            json!({"data": [{"id": "google/gemma-2-2b-it", "owned_by": "vllm", "max_model_len": 2048}]}),
        );
        let p = profile_from(
            &a,
            "google/gemma-2-2b-it",
            None,
            &ProfileOverrides::default(),
        );
        assert_eq!(
            (p.kind, p.context_tokens, p.context_source),
            (ServerKind::Vllm, 2048, Source::Server)
        );
    }

    #[test]
    fn llamacpp_reads_props_and_slots() {
        let mut a = answers("http://127.0.0.1:8089/v1");
        a.models = Some(
            json!({"data": [{"id": "qwen.gguf", "owned_by": "llamacpp", "meta": {"n_ctx_train": 32768}}]}),
        );
        a.llamacpp_props =
            Some(json!({"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1}));
        let p = profile_from(
            &a,
            "qwen.gguf",
            Some("minilm"),
            &ProfileOverrides::default(),
        );
        assert_eq!(p.kind, ServerKind::LlamaCpp);
        assert_eq!(
            p.context_tokens, 4096,
            "the running window, not the trained one"
        );
        assert_eq!(p.concurrency, 1);
        assert_eq!(p.embedding_listed, Some(false));
        assert_eq!(p.models, vec!["qwen.gguf".to_owned()]);
    }

    #[test]
    fn ollama_runs_at_its_runtime_default() {
        let mut a = answers("http://127.0.0.1:11434/v1");
        a.ollama_version = Some(json!({"version": "0.5.7"}));
        a.ollama_show = Some(json!({"model_info": {"llama.context_length": 131072}}));
        a.models = Some(
            json!({"data": [{"id": "llama3.1:latest", "owned_by": "library"}, {"id": "nomic-embed-text:latest"}]}),
        );
        let p = profile_from(
            &a,
            "llama3.1",
            Some("nomic-embed-text"),
            &ProfileOverrides::default(),
        );
        assert_eq!((p.kind, p.context_tokens), (ServerKind::Ollama, 2048));
        assert_eq!(p.embedding_listed, Some(true));
        a.ollama_version = Some(json!({"version": "0.12.3"}));
        assert_eq!(
            profile_from(&a, "llama3.1", None, &ProfileOverrides::default()).context_tokens,
            4096
        );
    }

    #[test]
    fn settings_win_over_the_server() {
        let mut a = answers("https://api.openai.com/v1");
        a.models = Some(json!({"data": [{"id": "gpt-4o-mini"}]}));
        let overrides = ProfileOverrides {
            context_tokens: Some(128_000),
            structured: Some(StructuredOutput::JsonMode),
            ..Default::default()
        };
        let p = profile_from(&a, "gpt-4o-mini", None, &overrides);
        assert_eq!(p.kind, ServerKind::OpenAi);
        assert_eq!(p.output_cap, OutputCap::MaxCompletionTokens);
        assert!(!p.stop_sequences);
        assert_eq!(
            (p.context_tokens, p.context_source),
            (128_000, Source::Setting)
        );
        assert_eq!(p.structured, StructuredOutput::JsonMode);
    }

    #[test]
    fn setting_names_parse() {
        assert_eq!(ServerKind::parse("llama.cpp"), Some(ServerKind::LlamaCpp));
        assert_eq!(ServerKind::parse("LM Studio"), Some(ServerKind::LmStudio));
        assert_eq!(ServerKind::parse("auto"), None);
        assert_eq!(OutputCap::parse("max_tokens"), Some(OutputCap::MaxTokens));
        assert_eq!(
            StructuredOutput::parse("json_schema"),
            Some(StructuredOutput::JsonSchema)
        );
    }
}
