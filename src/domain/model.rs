//! The plain data the bot reasons about: logged messages, persona entries, memory facts.
//!
//! These are what the store returns and the prompts consume; neither Discord nor the
//! database types leak past this point.

use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

use super::ids::{ChannelId, GuildId, MessageId, UserId};

/// One chat message as the bot remembers it (short-term log and archive share the shape).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoggedMessage {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub guild_id: Option<GuildId>,
    pub author_id: UserId,
    pub author_name: String,
    pub is_bot: bool,
    pub content: String,
    pub reply_to: Option<MessageId>,
    pub created_at: DateTime<Utc>,
}

/// The kinds of persona entry an admin can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersonaKind {
    Trait,
    Lore,
    Fact,
    Quirk,
}

impl PersonaKind {
    pub const ALL: [PersonaKind; 4] = [
        PersonaKind::Trait,
        PersonaKind::Lore,
        PersonaKind::Fact,
        PersonaKind::Quirk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PersonaKind::Trait => "trait",
            PersonaKind::Lore => "lore",
            PersonaKind::Fact => "fact",
            PersonaKind::Quirk => "quirk",
        }
    }
}

impl fmt::Display for PersonaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown persona kind `{0}` (expected trait, lore, fact or quirk)")]
pub struct UnknownPersonaKind(pub String);

impl FromStr for PersonaKind {
    type Err = UnknownPersonaKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trait" => Ok(PersonaKind::Trait),
            "lore" => Ok(PersonaKind::Lore),
            "fact" => Ok(PersonaKind::Fact),
            "quirk" => Ok(PersonaKind::Quirk),
            other => Err(UnknownPersonaKind(other.to_owned())),
        }
    }
}

/// One line of the bot's identity.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PersonaEntry {
    pub id: i64,
    pub kind: PersonaKind,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The whole persona, grouped by kind, in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Persona {
    pub entries: Vec<PersonaEntry>,
}

impl Persona {
    pub fn of_kind(&self, kind: PersonaKind) -> impl Iterator<Item = &PersonaEntry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }
}

/// A long-term fact about one member.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MemoryFact {
    pub id: i64,
    pub user_id: UserId,
    pub fact: String,
    pub category: String,
    pub first_mentioned_at: DateTime<Utc>,
    pub last_mentioned_at: DateTime<Utc>,
    pub reference_count: i32,
    /// Set when a newer fact contradicted this one; the old fact is kept for history.
    pub superseded_by: Option<i64>,
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub embedding: Option<Vec<f32>>,
}

/// A fact to be stored (before it has an id).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewFact {
    pub user_id: UserId,
    pub fact: String,
    pub category: String,
    pub embedding: Option<Vec<f32>>,
}

/// A nickname or display name seen for a member.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KnownName {
    pub guild_id: Option<GuildId>,
    pub name: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Whether the bot speaks in a place. Channel values override the server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChannelPolicy {
    pub bot_enabled: bool,
    pub proactive_enabled: bool,
}

impl Default for ChannelPolicy {
    fn default() -> Self {
        Self {
            bot_enabled: true,
            proactive_enabled: false,
        }
    }
}
