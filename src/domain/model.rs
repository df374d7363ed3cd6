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
    /// `None`: the global base persona (bot owners); otherwise that server's layer.
    pub guild_id: Option<GuildId>,
    /// In a server's layer: the base entry this one takes the place of in that server.
    pub replaces: Option<i64>,
    pub kind: PersonaKind,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The persona one server sees: the base with that server's layer applied, in insertion
/// order (a replacing entry takes the place of the entry it replaces).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Persona {
    /// The persona's name when set by the console or `/admin persona name` (the server's
    /// layer first, then the base); `None` falls back to the `bot.name` setting.
    pub name: Option<String>,
    pub entries: Vec<PersonaEntry>,
}

impl Persona {
    /// Applies a server's layer to the base: base entries in order, each replaced by the
    /// server entry that replaces it (if any), then the server's own additions.
    pub fn layered(base: Vec<PersonaEntry>, layer: Vec<PersonaEntry>) -> Vec<PersonaEntry> {
        let (mut replacements, additions): (Vec<_>, Vec<_>) =
            layer.into_iter().partition(|e| e.replaces.is_some());
        let mut entries: Vec<PersonaEntry> = base
            .into_iter()
            .map(
                |b| match replacements.iter().position(|r| r.replaces == Some(b.id)) {
                    Some(i) => replacements.swap_remove(i),
                    None => b,
                },
            )
            .collect();
        // A replacement whose base entry is gone still belongs to the server's persona.
        entries.extend(replacements);
        entries.extend(additions);
        entries
    }

    /// The name the persona goes by, falling back to the configured one.
    pub fn name_or<'a>(&'a self, configured: &'a str) -> &'a str {
        self.name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(configured)
    }

    pub fn of_kind(&self, kind: PersonaKind) -> impl Iterator<Item = &PersonaEntry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }
}

/// A long-term fact about one member.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MemoryFact {
    pub id: i64,
    /// The server the fact was learned in ([`GuildId::DIRECT`] for direct messages).
    pub guild_id: GuildId,
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
    pub guild_id: GuildId,
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

/// The bot-wide state key holding the base persona's name.
pub const PERSONA_NAME_KEY: &str = "persona_name";

/// Whose state key: the whole bot's (mood, status line, base persona name; bot owners) or
/// one server's (its admins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum StateScope {
    BotWide,
    Server(GuildId),
}

impl StateScope {
    /// As stored: 0 for bot-wide, else the server id.
    pub fn as_i64(self) -> i64 {
        match self {
            StateScope::BotWide => 0,
            StateScope::Server(guild) => guild.as_i64(),
        }
    }
}

/// Whether the bot speaks in a place (channel values override the server's), and the name
/// it answers to there.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChannelPolicy {
    pub bot_enabled: bool,
    pub proactive_enabled: bool,
    /// The persona's name in this server, when renamed (server layer, then base).
    pub persona_name: Option<String>,
}

impl Default for ChannelPolicy {
    fn default() -> Self {
        Self {
            bot_enabled: true,
            proactive_enabled: false,
            persona_name: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, guild: Option<u64>, replaces: Option<i64>, content: &str) -> PersonaEntry {
        PersonaEntry {
            id,
            guild_id: guild.map(GuildId),
            replaces,
            kind: PersonaKind::Trait,
            content: content.to_owned(),
            created_at: DateTime::<Utc>::default(),
            updated_at: DateTime::<Utc>::default(),
        }
    }

    #[test]
    fn a_server_layer_replaces_in_place_and_adds_at_the_end() {
        let base = vec![entry(1, None, None, "kind"), entry(2, None, None, "loud")];
        let layer = vec![
            entry(7, Some(5), None, "likes tea"),
            entry(8, Some(5), Some(2), "quiet"),
        ];
        let merged: Vec<_> = Persona::layered(base, layer)
            .into_iter()
            .map(|e| e.content)
            .collect();
        assert_eq!(merged, ["kind", "quiet", "likes tea"]);
    }

    #[test]
    fn the_persona_name_falls_back_to_the_setting() {
        let mut persona = Persona::default();
        assert_eq!(persona.name_or("Aria"), "Aria");
        persona.name = Some("  ".into());
        assert_eq!(persona.name_or("Aria"), "Aria");
        persona.name = Some("Nova".into());
        assert_eq!(persona.name_or("Aria"), "Nova");
    }
}
