//! Which servers a process owns when the bot runs as several processes.
//!
//! Discord splits a bot's servers over `shard_count` gateway connections (shards): a server
//! belongs to shard `(guild_id >> 22) % shard_count`, direct messages to shard 0. Each
//! process runs a range of shards and owns exactly the servers of those shards, so work
//! about a server (replies, its nightly consolidation, its bans and proactive posts) happens
//! in one process. Pure: the range is parsed and checked here, the lease that makes a
//! process the *active* owner of its range lives in `steps::standby`.

use super::GuildId;
use std::fmt;

/// The shard Discord sends a server's events to. `GuildId::DIRECT` (0, DMs) gives 0.
pub fn shard_of(guild: GuildId, shard_count: u32) -> u32 {
    let count = u64::from(shard_count.max(1));
    // The remainder is below `count`, a u32.
    u32::try_from((guild.0 >> 22) % count).unwrap_or(0)
}

/// The shards one process runs: `first..end` (half-open) out of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardSet {
    pub first: u32,
    pub end: u32,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardRangeError {
    #[error("`{0}` is not a shard range (write `0..2`, `0-1`, `3` or `all`)")]
    Syntax(String),
    #[error("shard range {first}..{end} is empty")]
    Empty { first: u32, end: u32 },
    #[error("shard range {first}..{end} does not fit in {count} shards (ids 0..{count})")]
    OutOfRange { first: u32, end: u32, count: u32 },
    #[error("the shard count must be at least 1")]
    NoShards,
}

impl ShardSet {
    /// Every shard of `count`: the single-process default.
    pub fn all(count: u32) -> Self {
        let count = count.max(1);
        Self {
            first: 0,
            end: count,
            count,
        }
    }

    /// Parses `discord.shards`: `""`/`all` (every shard), `a..b` (half-open, as Rust
    /// writes it), `a-b` (inclusive, as operators often do) or one shard `a`.
    pub fn parse(range: &str, count: u32) -> Result<Self, ShardRangeError> {
        if count == 0 {
            return Err(ShardRangeError::NoShards);
        }
        let text = range.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("all") {
            return Ok(Self::all(count));
        }
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| ShardRangeError::Syntax(range.to_owned()))
        };
        let (first, end) = if let Some((a, b)) = text.split_once("..") {
            (number(a)?, number(b)?)
        } else if let Some((a, b)) = text.split_once('-') {
            (number(a)?, number(b)?.saturating_add(1))
        } else {
            let one = number(text)?;
            (one, one.saturating_add(1))
        };
        if end <= first {
            return Err(ShardRangeError::Empty { first, end });
        }
        if end > count {
            return Err(ShardRangeError::OutOfRange { first, end, count });
        }
        Ok(Self { first, end, count })
    }

    pub fn contains_shard(&self, shard: u32) -> bool {
        (self.first..self.end).contains(&shard)
    }

    /// Whether this process owns the server (`GuildId::DIRECT`: DMs, shard 0).
    pub fn owns(&self, guild: GuildId) -> bool {
        self.contains_shard(shard_of(guild, self.count))
    }

    /// Whether this process runs every shard (one process for the whole bot).
    pub fn is_everything(&self) -> bool {
        self.first == 0 && self.end == self.count
    }

    /// A stable name for the range, used in lease names and consolidation runs:
    /// `all` for every shard, else `first-last/count` (inclusive).
    pub fn key(&self) -> String {
        if self.is_everything() {
            "all".to_owned()
        } else {
            format!("{}-{}/{}", self.first, self.end - 1, self.count)
        }
    }
}

impl fmt::Display for ShardSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shards {}..{} of {}", self.first, self.end, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_belongs_to_the_shard_of_its_timestamp_bits() {
        assert_eq!(shard_of(GuildId(2000), 2), 0);
        assert_eq!(shard_of(GuildId((1 << 22) | 2002), 2), 1);
        assert_eq!(shard_of(GuildId((5 << 22) | 7), 4), 1);
        // Discord's own example: 81384788765712384 on shard 0 of 2... (>> 22 = 19403460...).
        let g = GuildId(81_384_788_765_712_384);
        assert_eq!(shard_of(g, 1), 0);
        assert_eq!(shard_of(g, 3), u32::try_from((g.0 >> 22) % 3).unwrap());
        // DMs are shard 0; a count of 0 is read as 1.
        assert_eq!(shard_of(GuildId::DIRECT, 16), 0);
        assert_eq!(shard_of(GuildId(u64::MAX), 0), 0);
    }

    #[test]
    fn ranges_parse_in_every_spelling() {
        let set = |first, end, count| ShardSet { first, end, count };
        assert_eq!(ShardSet::parse("", 4), Ok(set(0, 4, 4)));
        assert_eq!(ShardSet::parse("all", 4), Ok(set(0, 4, 4)));
        assert_eq!(ShardSet::parse("0..2", 4), Ok(set(0, 2, 4)));
        assert_eq!(ShardSet::parse("2-3", 4), Ok(set(2, 4, 4)));
        assert_eq!(ShardSet::parse(" 1 ", 4), Ok(set(1, 2, 4)));
        assert_eq!(
            ShardSet::parse("2..2", 4),
            Err(ShardRangeError::Empty { first: 2, end: 2 })
        );
        assert_eq!(
            ShardSet::parse("3..5", 4),
            Err(ShardRangeError::OutOfRange {
                first: 3,
                end: 5,
                count: 4
            })
        );
        assert!(matches!(
            ShardSet::parse("a..b", 4),
            Err(ShardRangeError::Syntax(_))
        ));
        assert_eq!(ShardSet::parse("0", 0), Err(ShardRangeError::NoShards));
    }

    #[test]
    fn a_process_owns_the_servers_of_its_shards_and_dms_with_shard_zero() {
        let far = GuildId((1 << 22) | 2002);
        let low = ShardSet::parse("0..1", 2).unwrap();
        let high = ShardSet::parse("1..2", 2).unwrap();
        assert!(low.owns(GuildId(2000)) && low.owns(GuildId(2001)) && !low.owns(far));
        assert!(high.owns(far) && !high.owns(GuildId(2000)));
        assert!(low.owns(GuildId::DIRECT) && !high.owns(GuildId::DIRECT));
        let every = ShardSet::all(1);
        assert!(every.owns(far) && every.owns(GuildId::DIRECT));
        assert_eq!(
            (every.key(), low.key(), high.key()),
            ("all".into(), "0-0/2".into(), "1-1/2".into())
        );
        assert_eq!(ShardSet::parse("0..2", 2).unwrap().key(), "all");
    }
}
