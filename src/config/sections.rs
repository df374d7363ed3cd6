//! The smaller settings sections: database, schedules, memory, mood, telemetry.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_read_connections: u32,
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScheduleSettings {
    pub consolidation_cron: String,
    pub proactive_interval_secs: u64,
    pub proactive_chance: f64,
    pub proactive_idle_hours: u32,
    pub proactive_daily_cap: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MemorySettings {
    pub candidate_threshold: f32,
    pub duplicate_threshold: f32,
    pub max_pending_days: u32,
    pub archive_retention_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoodRuleKind {
    RandomWalk,
    Reroll,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MoodSettings {
    pub rule: MoodRuleKind,
    pub max_step: i64,
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    pub filter: String,
    pub json: bool,
}

/// `discord.shard_count`: how many shards the whole bot runs, or `auto` (the number Discord
/// recommends in `GET /gateway/bot`, asked once at start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardCount {
    Auto,
    Fixed(u32),
}

impl Default for ShardCount {
    fn default() -> Self {
        Self::Fixed(1)
    }
}

impl<'de> Deserialize<'de> for ShardCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let bad =
            || serde::de::Error::custom("must be a number of shards (at least 1) or \"auto\"");
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => u32::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .map(Self::Fixed)
                .ok_or_else(bad),
            Raw::Text(t) if t.trim().eq_ignore_ascii_case("auto") => Ok(Self::Auto),
            Raw::Text(t) => t
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Self::Fixed)
                .ok_or_else(bad),
        }
    }
}

/// The web console (`src/console/`): where it listens and how an operator logs in.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleSettings {
    pub enabled: bool,
    /// `ip:port`; port 0 picks a free one (tests). Anything but loopback needs a password.
    pub listen: String,
    /// An argon2 PHC string (`personabot hash-password`); "" = one-time codes only.
    #[serde(default)]
    pub password_hash: String,
}

/// The ops HTTP server: `/metrics`, `/healthz`, `/readyz`.
#[derive(Debug, Clone, Deserialize)]
pub struct OpsSettings {
    /// `host:port` to listen on (port 0: any free port); empty: no ops server.
    pub listen: String,
    /// `/readyz` wants a model answer at most this old.
    pub model_window_secs: u64,
    /// `/readyz` pings the database at most this often (the answer is kept in between).
    pub database_check_secs: u64,
}

impl OpsSettings {
    /// The address to listen on, `None` when switched off.
    pub fn listen_addr(&self) -> Option<&str> {
        let listen = self.listen.trim();
        (!listen.is_empty()).then_some(listen)
    }
}
