//! Pure domain logic: no Discord, database, LLM client or async runtime in here.
//! Time and randomness come in as parameters so every rule is tested directly.
//!
//! # Layout
//! - `ids`, `model`: typed snowflakes and the plain data the bot reasons about.
//! - `relationship`: the four metrics, their bounds, and applying the LLM's judgement.
//! - `trigger`: whether a message is for the bot.
//! - `split`: cutting answers to Discord's 2,000-character limit.
//! - `emotes`: offering emote names to the model and rendering `:name:` back.
//! - `budget`: token counting and fitting the transcript into the prompt.
//! - `memory`: fact extraction parsing, merge rules, fact ranking.
//! - `proactive`: whether to speak up unprompted.
//! - `mood`: the mood of the day.
//! - `json`: finding JSON in LLM answers (shared by every parser), `ParseError`.
//! - `chat`: `ChatTurn`, what the prompts produce.

pub mod budget;
pub mod chat;
pub mod emotes;
pub mod ids;
pub mod json;
pub mod memory;
pub mod model;
pub mod moderation;
pub mod mood;
pub mod proactive;
pub mod relationship;
pub mod split;
pub mod trigger;

pub use chat::{ChatRole, ChatTurn};
pub use emotes::{CustomEmote, EmoteCatalog};
pub use ids::{ChannelId, EmojiId, GuildId, MessageId, UserId};
pub use json::ParseError;
pub use model::*;
pub use mood::{Mood, MoodRule};
pub use relationship::{
    Metric, Relationship, RelationshipChange, RelationshipError, RelationshipJudgement,
};
pub use trigger::{TriggerDecision, TriggerInput};
