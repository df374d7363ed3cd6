//! Settings in layers: the `settings.yaml` compiled into the binary (every default), then an
//! optional `settings.yaml` on disk, then `PERSONABOT__SECTION__KEY` environment variables.
//!
//! Secrets (bot token, LLM key) are read from the environment only and held as
//! `SecretString`, so neither a YAML file in a repository nor a `Debug` log line can leak them.

mod discord;
mod llm;
mod operations;
mod sections;
pub use discord::DiscordSettings;
pub use llm::LlmSettings;
pub use operations::{ModerationSettings, OverloadSettings};
pub use sections::{
    ConsoleSettings, DatabaseSettings, MemorySettings, MoodRuleKind, MoodSettings, OpsSettings,
    ScheduleSettings, ShardCount, TelemetrySettings,
};

use secrecy::SecretString;
use serde::Deserialize;
use std::path::Path;

/// Environment prefix; `__` separates nesting levels.
pub const ENV_PREFIX: &str = "PERSONABOT";
pub const TOKEN_VAR: &str = "PERSONABOT__DISCORD__TOKEN";
pub const API_KEY_VAR: &str = "PERSONABOT__LLM__API_KEY";

const DEFAULTS: &str = include_str!("../../settings.yaml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting: {0}")]
    Invalid(String),
    #[error("{key} is out of range: {why} (set it in settings.yaml or {env})")]
    OutOfRange {
        key: &'static str,
        env: String,
        why: String,
    },
    #[error("{0} is not set: put it in .env or the environment")]
    MissingSecret(&'static str),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub bot: BotSettings,
    pub discord: DiscordSettings,
    pub llm: LlmSettings,
    pub database: DatabaseSettings,
    pub schedule: ScheduleSettings,
    pub memory: MemorySettings,
    pub mood: MoodSettings,
    /// Daily token budgets (`domain::spend`).
    pub budget: crate::domain::spend::DailyBudgets,
    pub telemetry: TelemetrySettings,
    pub ops: OpsSettings,
    pub overload: OverloadSettings,
    pub moderation: ModerationSettings,
    pub console: ConsoleSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnLlmFailure {
    Line,
    Silent,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BotSettings {
    pub name: String,
    pub aliases: Vec<String>,
    pub reply_to_bots: bool,
    pub followup_window_secs: u64,
    /// A channel actor with nothing to do for this long stops (its state is rebuilt from
    /// the database on the next message), so memory follows active channels.
    pub channel_idle_secs: u64,
    pub ambiguous_judgement: bool,
    pub ambiguous_threshold: f32,
    pub log_when_disabled: bool,
    pub on_llm_failure: OnLlmFailure,
    pub failure_line: String,
    pub user_replies_per_minute: u32,
    pub channel_replies_per_minute: u32,
    pub rate_limit_notice: bool,
    pub rate_limited_line: String,
    /// Longer replies are cut at a sentence boundary (`domain::hygiene`).
    pub max_reply_chars: usize,
    /// Discord messages one reply may take.
    pub max_reply_messages: usize,
    pub transcript_hours: u32,
    pub transcript_max_messages: u64,
    pub transcript_token_budget: usize,
    /// The whole reply prompt, every turn and its framing included.
    pub prompt_token_budget: usize,
    pub persona_token_budget: usize,
    pub facts_token_budget: usize,
    pub reply_to_token_budget: usize,
    pub max_facts_in_prompt: usize,
    /// Strings that a posted reply must never contain (plant one in the persona).
    pub canaries: Vec<String>,
    /// A reply repeating this many consecutive words of the system prompt is not posted.
    pub leak_min_words: usize,
    /// Said instead of a reply that leaked the prompt; empty = say nothing.
    pub leak_line: String,
    pub relationship_max_step: i64,
    pub relationship_judgement: bool,
    pub enabled_by_default: bool,
    pub owner_ids: Vec<u64>,
    pub admin_role_id: Option<u64>,
    pub test_guild_ids: Vec<u64>,
    pub ticket_staff_role_id: Option<u64>,
}

impl BotSettings {
    /// The longest reply or proactive post, in characters: `max_reply_chars`, and no more
    /// than `max_reply_messages` Discord messages hold (with room for the split's seams).
    pub fn speech_chars(&self) -> usize {
        self.max_reply_chars
            .min(self.max_reply_messages.saturating_mul(1_900))
    }
}

/// Where the settings come from; tests pass their own environment instead of the process's.
pub struct Sources<'a> {
    pub file: Option<&'a Path>,
    pub env: Vec<(String, String)>,
}

impl Sources<'_> {
    /// The process environment and `./settings.yaml` if present.
    pub fn from_process() -> Self {
        Sources {
            file: Some(Path::new("settings.yaml")),
            env: std::env::vars().collect(),
        }
    }
}

impl Settings {
    pub fn load(sources: Sources<'_>) -> Result<Settings, ConfigError> {
        use config::{Config, Environment, File, FileFormat};
        let env_map: std::collections::HashMap<String, String> = sources
            .env
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && *k != TOKEN_VAR && *k != API_KEY_VAR)
            .cloned()
            .collect();
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Yaml));
        if let Some(path) = sources.file {
            builder = builder.add_source(File::from(path).format(FileFormat::Yaml).required(false));
        }
        builder = builder.add_source(
            Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("bot.aliases")
                .with_list_parse_key("bot.owner_ids")
                .with_list_parse_key("bot.test_guild_ids")
                .with_list_parse_key("bot.canaries")
                .source(Some(env_map)),
        );
        let raw = builder
            .build()
            .map_err(|e| ConfigError::Invalid(describe(e)))?;
        let mut settings: Settings = raw
            .try_deserialize()
            .map_err(|e| ConfigError::Invalid(describe(e)))?;
        let secret = |name: &str| {
            sources
                .env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(SecretString::from)
        };
        settings.discord.token = secret(TOKEN_VAR);
        settings.llm.api_key = secret(API_KEY_VAR);
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        fn check(ok: bool, key: &'static str, why: &str) -> Result<(), ConfigError> {
            if ok {
                return Ok(());
            }
            let env = format!(
                "{ENV_PREFIX}__{}",
                key.replace('.', "__").to_ascii_uppercase()
            );
            Err(ConfigError::OutOfRange {
                key,
                env,
                why: why.to_owned(),
            })
        }
        let l = &self.llm;
        check(
            l.server_kind.trim().eq_ignore_ascii_case("auto")
                || crate::domain::model_server::ServerKind::parse(&l.server_kind).is_some(),
            "llm.server_kind",
            "must be auto, openai, ollama, vllm, llamacpp, lmstudio or other",
        )?;
        check(
            l.output_cap.trim().eq_ignore_ascii_case("auto")
                || crate::domain::model_server::OutputCap::parse(&l.output_cap).is_some(),
            "llm.output_cap",
            "must be auto, max_tokens, max_completion_tokens or both",
        )?;
        check(
            l.structured_output.trim().eq_ignore_ascii_case("auto")
                || crate::domain::model_server::StructuredOutput::parse(&l.structured_output)
                    .is_some(),
            "llm.structured_output",
            "must be auto, json_schema, json_object or none",
        )?;
        check(
            l.context_tokens == 0 || l.context_tokens >= 1024,
            "llm.context_tokens",
            "must be 0 (as the server says) or at least 1024",
        )?;
        check(
            self.bot.max_reply_chars >= 100,
            "bot.max_reply_chars",
            "must be at least 100",
        )?;
        check(
            (1..=10).contains(&self.bot.max_reply_messages),
            "bot.max_reply_messages",
            "must be between 1 and 10",
        )?;
        let s = &self.schedule;
        check(
            (0.0..=1.0).contains(&s.proactive_chance),
            "schedule.proactive_chance",
            "must be between 0 and 1",
        )?;
        check(
            s.proactive_interval_secs >= 10,
            "schedule.proactive_interval_secs",
            "must be at least 10",
        )?;
        check(
            !self.bot.name.trim().is_empty(),
            "bot.name",
            "must not be empty",
        )?;
        check(
            (0.0..=1.0).contains(&self.bot.ambiguous_threshold),
            "bot.ambiguous_threshold",
            "must be between 0 and 1",
        )?;
        check(
            self.bot.user_replies_per_minute > 0,
            "bot.user_replies_per_minute",
            "must be at least 1",
        )?;
        check(
            self.bot.channel_replies_per_minute > 0,
            "bot.channel_replies_per_minute",
            "must be at least 1",
        )?;
        check(
            self.bot.transcript_hours > 0,
            "bot.transcript_hours",
            "must be at least 1",
        )?;
        check(
            self.bot.transcript_token_budget >= 256,
            "bot.transcript_token_budget",
            "must be at least 256",
        )?;
        let b = &self.bot;
        check(
            b.prompt_token_budget
                >= b.persona_token_budget + b.facts_token_budget + b.reply_to_token_budget + 2048,
            "bot.prompt_token_budget",
            "must leave at least 2048 tokens (for the rules, the notes and the message answered) \
             beyond the persona, facts and replied-to budgets",
        )?;
        check(
            b.leak_min_words == 0 || b.leak_min_words >= 6,
            "bot.leak_min_words",
            "must be 0 (off) or at least 6",
        )?;
        check(
            (1..=10).contains(&self.bot.relationship_max_step),
            "bot.relationship_max_step",
            "must be 1..10",
        )?;
        let m = &self.memory;
        check(
            (0.0..=1.0).contains(&m.candidate_threshold),
            "memory.candidate_threshold",
            "must be between 0 and 1",
        )?;
        check(
            (m.candidate_threshold..=1.0).contains(&m.duplicate_threshold),
            "memory.duplicate_threshold",
            "must be between candidate_threshold and 1",
        )?;
        check(
            (0..=10).contains(&self.mood.max_step),
            "mood.max_step",
            "must be 0..10",
        )?;
        let o = &self.overload;
        check(
            o.breaker_failures >= 1,
            "overload.breaker_failures",
            "must be at least 1",
        )?;
        check(
            o.breaker_cool_down_secs >= 1,
            "overload.breaker_cool_down_secs",
            "must be at least 1",
        )?;
        check(
            o.max_pending_replies >= 1,
            "overload.max_pending_replies",
            "must be at least 1",
        )?;
        check(
            o.max_mention_age_secs >= 1,
            "overload.max_mention_age_secs",
            "must be at least 1",
        )?;
        check(
            self.llm.request_timeout_secs > 0,
            "llm.request_timeout_secs",
            "must be at least 1",
        )?;
        check(
            self.llm.base_url.starts_with("http://") || self.llm.base_url.starts_with("https://"),
            "llm.base_url",
            "must start with http:// or https://",
        )?;
        check(
            self.discord.api_base.starts_with("http://")
                || self.discord.api_base.starts_with("https://"),
            "discord.api_base",
            "must start with http:// or https://",
        )?;
        self.discord.validate()?;
        check(
            self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"),
            "database.url",
            "must be a sqlite:// or postgres:// URL",
        )?;
        let md = &self.moderation;
        check(
            md.ban_check_interval_ms >= 10
                && md.unban_max_refusals.min(md.unban_max_failures) >= 1
                && md.unban_max_failures_per_tick >= 1,
            "moderation",
            "ban_check_interval_ms must be at least 10, and the unban limits at least 1",
        )?;
        check(
            (1..=md.unban_retry_max_ms).contains(&md.unban_retry_base_ms),
            "moderation.unban_retry_base_ms",
            "must be at least 1 and at most unban_retry_max_ms",
        )?;
        Ok(())
    }

    /// The Discord token, required to run (not to migrate).
    pub fn require_token(&self) -> Result<&SecretString, ConfigError> {
        self.discord
            .token
            .as_ref()
            .ok_or(ConfigError::MissingSecret(TOKEN_VAR))
    }
}

/// Names the environment variable next to the key `config` complains about.
fn describe(e: config::ConfigError) -> String {
    let text = e.to_string();
    match text.rsplit_once("for key `") {
        Some((_, rest)) => {
            let key = rest
                .trim_end_matches('`')
                .split('`')
                .next()
                .unwrap_or_default();
            let env = format!(
                "{ENV_PREFIX}__{}",
                key.replace('.', "__").to_ascii_uppercase()
            );
            format!("{text} (set it in settings.yaml or {env})")
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn load(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::load(Sources {
            file: None,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }

    #[test]
    fn unban_retry_settings_become_the_lift_policy() {
        let policy =
            crate::steps::ban_lifting::lift_policy(&load(&[]).expect("defaults").moderation);
        assert_eq!(
            (
                policy.max_refusals,
                policy.max_failures,
                policy.max_failures_per_tick
            ),
            (3, 8, 20)
        );
        assert_eq!(policy.retry_base, chrono::Duration::minutes(1));
        assert_eq!(policy.retry_max, chrono::Duration::hours(1));
        let bad = load(&[("PERSONABOT__MODERATION__UNBAN_RETRY_BASE_MS", "7200000")]);
        assert!(
            matches!(bad, Err(ConfigError::OutOfRange { key, .. }) if key == "moderation.unban_retry_base_ms")
        );
    }

    #[test]
    fn embedded_defaults_load() {
        let s = load(&[]).expect("defaults are valid");
        assert_eq!(s.bot.name, "Aria");
        assert!(s.discord.token.is_none());
    }

    #[test]
    fn environment_overrides_nested_keys_and_reads_secrets() {
        let s = load(&[
            ("PERSONABOT__LLM__CHAT_MODEL", "llama3"),
            ("PERSONABOT__SCHEDULE__PROACTIVE_CHANCE", "0.5"),
            ("PERSONABOT__BOT__ALIASES", "ari,aria-chan"),
            (TOKEN_VAR, "secret-token"),
        ])
        .expect("valid");
        assert_eq!(s.llm.chat_model, "llama3");
        assert_eq!(s.schedule.proactive_chance, 0.5);
        assert_eq!(s.bot.aliases, vec!["ari", "aria-chan"]);
        assert_eq!(
            s.discord
                .token
                .as_ref()
                .map(|t| t.expose_secret().to_owned())
                .as_deref(),
            Some("secret-token")
        );
        assert!(!format!("{s:?}").contains("secret-token"));
    }

    #[test]
    fn prompt_budgets_must_add_up() {
        let s = load(&[("PERSONABOT__BOT__CANARIES", "zebra-7,otter-9")]).expect("valid");
        assert_eq!(s.bot.canaries, vec!["zebra-7", "otter-9"]);
        assert!(s.bot.prompt_token_budget >= s.bot.transcript_token_budget);
        let err = load(&[("PERSONABOT__BOT__PROMPT_TOKEN_BUDGET", "4000")]).expect_err("too small");
        assert!(
            err.to_string()
                .contains("PERSONABOT__BOT__PROMPT_TOKEN_BUDGET"),
            "{err}"
        );
    }

    #[test]
    fn shard_settings_take_a_count_or_auto_and_a_range() {
        let s = load(&[]).expect("defaults");
        assert_eq!(s.discord.shard_count, ShardCount::Fixed(1));
        assert!(s.discord.shard_set().expect("all").is_everything());
        let s = load(&[
            ("PERSONABOT__DISCORD__SHARD_COUNT", "4"),
            ("PERSONABOT__DISCORD__SHARDS", "2-3"),
        ])
        .expect("valid");
        let set = s.discord.shard_set().expect("set");
        assert_eq!((set.first, set.end, set.count), (2, 4, 4));
        let s = load(&[("PERSONABOT__DISCORD__SHARD_COUNT", "auto")]).expect("auto");
        assert_eq!(s.discord.shard_count, ShardCount::Auto);
        let err = load(&[
            ("PERSONABOT__DISCORD__SHARD_COUNT", "2"),
            ("PERSONABOT__DISCORD__SHARDS", "1..3"),
        ])
        .expect_err("out of range");
        assert!(
            err.to_string().contains("PERSONABOT__DISCORD__SHARDS"),
            "{err}"
        );
        let err = load(&[("PERSONABOT__DISCORD__SHARD_COUNT", "zero")]).expect_err("bad");
        assert!(err.to_string().contains("auto"), "{err}");
    }

    #[test]
    fn malformed_value_names_the_variable() {
        let err =
            load(&[("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS", "soon")]).expect_err("malformed");
        assert!(
            err.to_string()
                .contains("PERSONABOT__LLM__REQUEST_TIMEOUT_SECS"),
            "{err}"
        );
        let err =
            load(&[("PERSONABOT__SCHEDULE__PROACTIVE_CHANCE", "3")]).expect_err("out of range");
        assert!(
            err.to_string()
                .contains("PERSONABOT__SCHEDULE__PROACTIVE_CHANCE"),
            "{err}"
        );
    }
}
