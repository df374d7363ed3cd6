//! Typed Discord snowflakes, so a channel id can never be passed where a user id belongs.
//!
//! Discord ids are u64 but always below 2^63, which lets the store keep them in a signed
//! BIGINT column on both SQLite and PostgreSQL. Conversion to `i64` is checked anyway.

use std::fmt;

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as stored in a BIGINT column.
            pub fn as_i64(self) -> i64 {
                i64::try_from(self.0).unwrap_or(i64::MAX)
            }

            /// Reads an id back from a BIGINT column.
            pub fn from_i64(raw: i64) -> Self {
                Self(u64::try_from(raw).unwrap_or_default())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<u64> for $name {
            fn from(raw: u64) -> Self {
                Self(raw)
            }
        }
    };
}

snowflake!(
    /// A Discord user (members and bots alike).
    UserId
);
snowflake!(
    /// A Discord server.
    GuildId
);
snowflake!(
    /// A text channel or thread.
    ChannelId
);
snowflake!(
    /// A single chat message.
    MessageId
);
snowflake!(
    /// A custom emoji of a server.
    EmojiId
);

impl GuildId {
    /// The scope of direct messages. Member data is owned by the server it came from; what a
    /// member says to the bot in a DM is kept apart from every server, under this id.
    pub const DIRECT: GuildId = GuildId(0);

    /// The scope that owns member data from a message in `guild` (`None`: a DM).
    pub fn scope(guild: Option<GuildId>) -> GuildId {
        guild.unwrap_or(Self::DIRECT)
    }

    /// The server, unless this is the direct-messages scope.
    pub fn as_server(self) -> Option<GuildId> {
        (self != Self::DIRECT).then_some(self)
    }
}

/// A member as one server knows them. Facts and relationships are keyed by both parts, so
/// nothing learned in one server can be read through another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ServerMember {
    pub guild: GuildId,
    pub user: UserId,
}

impl fmt::Display for ServerMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.user, self.guild)
    }
}

impl ServerMember {
    pub fn new(guild: GuildId, user: UserId) -> Self {
        Self { guild, user }
    }

    /// The member behind a message in `guild` (`None`: a DM).
    pub fn of(guild: Option<GuildId>, user: UserId) -> Self {
        Self::new(GuildId::scope(guild), user)
    }
}

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

impl MessageId {
    /// When Discord created the message: the snowflake's top 42 bits are milliseconds
    /// since Discord's epoch. Lets the bot stamp its own messages with Discord's clock.
    pub fn created_at(self) -> chrono::DateTime<chrono::Utc> {
        let ms = i64::try_from(self.0 >> 22).unwrap_or(0) + DISCORD_EPOCH_MS;
        chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn snowflake_time() {
        // Discord's documented example: 175928847299117063 → 2016-04-30T11:18:25.796Z.
        let at = super::MessageId(175_928_847_299_117_063).created_at();
        assert_eq!(
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2016-04-30T11:18:25.796Z"
        );
    }

    use super::*;

    #[test]
    fn round_trips_through_bigint() {
        let id = UserId(1_234_567_890_123_456_789);
        assert_eq!(UserId::from_i64(id.as_i64()), id);
    }

    #[test]
    fn serializes_as_plain_number() {
        assert_eq!(
            serde_json::to_string(&ChannelId(42)).ok().as_deref(),
            Some("42")
        );
    }
}
