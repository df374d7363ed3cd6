//! What reaches a channel's conversation: the bot's identity on this connection, a message
//! as the gateway saw it, and every other event of the channel. Plain data, shared by the
//! Discord adapter that produces it and the actors and steps that consume it.

use chrono::{DateTime, Utc};

use super::proactive::ProactiveKind;
use super::{ChannelId, LoggedMessage, MessageId, UserId};

/// Who the bot is on this connection (known once the gateway is READY).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: UserId,
    pub name: String,
}

/// A chat message as the gateway saw it, with what the trigger rules need.
#[derive(Clone, Debug)]
pub struct IncomingMessage {
    pub message: LoggedMessage,
    pub mentions: Vec<UserId>,
    pub mentions_everyone: bool,
    pub replied_to_author: Option<UserId>,
    pub author_username: String,
    /// Server nickname or global display name.
    pub author_display: Option<String>,
}

#[derive(Clone, Debug)]
pub enum ChannelEvent {
    Message {
        bot: BotIdentity,
        incoming: IncomingMessage,
    },
    /// Sent while the bot was offline; logged, never answered.
    Backfilled { incoming: IncomingMessage },
    /// The proactive scheduler decided to speak here (after `last`, the newest message).
    Proactive {
        bot: BotIdentity,
        last: LoggedMessage,
        kind: ProactiveKind,
    },
    Edited {
        channel: ChannelId,
        id: MessageId,
        content: String,
        edited_at: DateTime<Utc>,
    },
    /// One message deleted, or several at once (a moderator's bulk delete).
    Deleted {
        channel: ChannelId,
        ids: Vec<MessageId>,
    },
}

impl ChannelEvent {
    pub fn channel(&self) -> ChannelId {
        match self {
            ChannelEvent::Message { incoming, .. } | ChannelEvent::Backfilled { incoming } => {
                incoming.message.channel_id
            }
            ChannelEvent::Proactive { last, .. } => last.channel_id,
            ChannelEvent::Edited { channel, .. } | ChannelEvent::Deleted { channel, .. } => {
                *channel
            }
        }
    }
}
