//! The `discord` settings section: where Discord is (or a proxy, a fake, a relay), and
//! which shards this process runs when the bot is several processes (`docs/scaling.md`).

use super::{ConfigError, ENV_PREFIX, ShardCount};
use crate::domain::shards::ShardSet;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Clone, Deserialize)]
pub struct DiscordSettings {
    pub api_base: String,
    /// `host:port` to connect to for `discord.com` instead of resolving it ("" = DNS).
    #[serde(default)]
    pub connect_to: String,
    /// A PEM file of an extra CA trusted for `discord.com` ("" = none).
    #[serde(default)]
    pub extra_root_ca: String,
    /// Shards of the whole bot (a number, or `auto`: Discord's recommendation).
    #[serde(default)]
    pub shard_count: ShardCount,
    /// The shards this process runs: `0..2`, `0-1`, `3`, or "" / `all` for every shard.
    #[serde(default)]
    pub shards: String,
    /// How long this process's hold on its shards (and on other once-only work) lasts
    /// unrenewed: a killed process's standby takes over after at most this long.
    pub lease_ttl_secs: u64,
    /// From `PERSONABOT__DISCORD__TOKEN` only.
    #[serde(skip)]
    pub token: Option<SecretString>,
}

impl std::fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordSettings")
            .field("api_base", &self.api_base)
            .field("connect_to", &self.connect_to)
            .field("extra_root_ca", &self.extra_root_ca)
            .field("shard_count", &self.shard_count)
            .field("shards", &self.shards)
            .field("lease_ttl_secs", &self.lease_ttl_secs)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl DiscordSettings {
    /// The shards this process runs, once the shard count is known (`auto` is resolved by
    /// asking Discord at start; until then this is an error).
    pub fn shard_set(&self) -> Result<ShardSet, ConfigError> {
        let ShardCount::Fixed(count) = self.shard_count else {
            return Err(ConfigError::Invalid(
                "discord.shard_count is `auto`: it is resolved by asking Discord at start".into(),
            ));
        };
        ShardSet::parse(&self.shards, count).map_err(|e| ConfigError::OutOfRange {
            key: "discord.shards",
            env: format!("{ENV_PREFIX}__DISCORD__SHARDS"),
            why: e.to_string(),
        })
    }

    /// True when pointed at something other than Discord itself (a fake, a proxy).
    pub fn is_custom_base(&self) -> bool {
        self.api_base.trim_end_matches('/') != "https://discord.com"
    }
}

impl DiscordSettings {
    /// How long a lease of this process lasts unrenewed.
    pub fn lease_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_ttl_secs)
    }

    /// Checks the shard settings and the lease time.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let range = |count| {
            ShardSet::parse(&self.shards, count).map_err(|e| ConfigError::OutOfRange {
                key: "discord.shards",
                env: format!("{ENV_PREFIX}__DISCORD__SHARDS"),
                why: e.to_string(),
            })
        };
        match self.shard_count {
            ShardCount::Fixed(count) => range(count)?,
            // Checked again once Discord said the count.
            ShardCount::Auto => range(u32::MAX)?,
        };
        if self.lease_ttl_secs == 0 {
            return Err(ConfigError::OutOfRange {
                key: "discord.lease_ttl_secs",
                env: format!("{ENV_PREFIX}__DISCORD__LEASE_TTL_SECS"),
                why: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}
