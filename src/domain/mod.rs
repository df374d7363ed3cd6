//! Pure domain logic: no Discord, database, LLM client or async runtime in here.
//! Time and randomness come in as parameters so every rule is tested directly.

pub mod ids;
pub mod model;
pub mod relationship;

pub use ids::{ChannelId, EmojiId, GuildId, MessageId, UserId};
pub use model::*;
pub use relationship::{Metric, Relationship, RelationshipChange, RelationshipError};
