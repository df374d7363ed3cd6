//! Pure domain logic: no Discord, database, LLM client or async runtime in here.
//! Time and randomness come in as parameters so every rule is tested directly.
//!
//! # Layout
//! - `ids`, `model`: typed snowflakes and the plain data the bot reasons about.
//! - `relationship`: the four metrics, their bounds, and applying the LLM's judgement.
//! - `trigger`: whether a message is for the bot.
//! - `split`: cutting answers to Discord's 2,000-character limit.
//! - `emotes`: offering emote names to the model and rendering `:name:` back.
//! - `budget`: token counting and fitting each part of the prompt into its budget.
//! - `spend`: daily token budgets per server, member and bot: who a call is charged to.
//! - `leak`: the output guard against replies that repeat the system prompt.
//! - `memory`: fact extraction parsing, merge rules, fact ranking.
//! - `proactive`: whether to speak up unprompted.
//! - `mood`: the mood of the day.
//! - `json`: finding JSON in LLM answers (shared by every parser), `ParseError`.
//! - `chat_turn`: `ChatTurn`, what the prompts produce.
//! - `conversation`: the bot's identity, an incoming message, a channel's events.
//! - `speech`: which messages are a member speaking (not system notices or webhook posts).
//! - `records`: tickets, run counters, relationship log, exports (what the store returns).
//! - `moderation`: permission and hierarchy rules, moderation cases.
//! - `breaker`: the model's circuit breaker (closed, open, half-open) over an injected clock.
//! - `backlog`: a channel's waiting replies (few, fresh, one per member; one trouble line).
//! - `plan`: what the bot does about a message: admit it, then answer, a notice, or skip.
//! - `hygiene`: what a model's text loses before anyone sees it (reasoning, echoed
//!   `[time] Name:` prefixes, recited notes, the length cap).
//! - `model_server`: what kind of server the model runs on and what it can take (window,
//!   output cap, JSON schema, slots), read from its own answers; prompt budgets within it.
//! - `lifting`: retrying, backing off and giving up refused unbans of temporary bans.
//! - `shards`: which servers a process owns when the bot runs as several shard processes.
//! - `health`: readiness (gateway, database, model) from what the adapters last saw.

pub mod backlog;
pub mod breaker;
pub mod budget;
pub mod chat_turn;
pub mod conversation;
pub mod emotes;
pub mod health;
pub mod hygiene;
pub mod ids;
pub mod invite;
pub mod json;
pub mod leak;
pub mod lifting;
pub mod memory;
pub mod model;
pub mod model_server;
pub mod moderation;
pub mod mood;
pub mod plan;
pub mod proactive;
pub mod records;
pub mod relationship;
pub mod shards;
pub mod speech;
pub mod spend;
pub mod split;
pub mod token_count;
pub mod trigger;

pub use chat_turn::{ChatRole, ChatTurn};
pub use conversation::{BotIdentity, ChannelEvent, IncomingMessage};
pub use emotes::{CustomEmote, EmoteCatalog};
pub use ids::{ChannelId, EmojiId, GuildId, MessageId, ServerMember, UserId};
pub use json::ParseError;
pub use memory::FactChange;
pub use model::*;
pub use moderation::{ModAction, ModCase};
pub use mood::{Mood, MoodRule};
pub use proactive::ProactiveKind;
pub use records::{
    ChannelSwitch, DeletionReport, MemberSummary, MessageStamp, MoodPoint, RelationshipEvent,
    RunStats, RunSummary, ServerExport, ServerSwitches, StateEntry, Ticket, TicketStatus,
    UserExport, UserRecord,
};
pub use relationship::{
    Metric, Relationship, RelationshipChange, RelationshipError, RelationshipJudgement,
};
pub use speech::{MessageKind, MessageOrigin};
pub use trigger::{TriggerDecision, TriggerInput};

/// A stored or received value the code does not know (an unknown enum string).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

impl UnknownValue {
    pub fn new(what: &'static str, value: &str) -> Self {
        Self {
            what,
            value: value.to_owned(),
        }
    }
}
