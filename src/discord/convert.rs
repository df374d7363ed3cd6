//! serenity's types to the domain's: one place, shared by live events and the backfill of
//! messages missed while offline.

use crate::domain::{
    ChannelId, GuildId, IncomingMessage, LoggedMessage, MessageId, MessageKind, MessageOrigin,
    UserId,
};
use chrono::Utc;
use serenity::all::{Message, MessageType};

/// Full precision: a follow-up half a second after the bot's answer must sort after it.
pub fn to_timestamp(ts: serenity::all::Timestamp) -> chrono::DateTime<Utc> {
    *ts
}

/// The name people see: server nickname, then global display name, then username.
fn display_name(msg: &Message) -> Option<String> {
    msg.member
        .as_ref()
        .and_then(|m| m.nick.clone())
        .or_else(|| msg.author.global_name.clone())
}

/// Discord's message `type` and `webhook_id`, as the domain's [`MessageOrigin`].
pub fn origin(msg: &Message) -> MessageOrigin {
    let kind = match msg.kind {
        MessageType::Regular => MessageKind::Regular,
        MessageType::InlineReply => MessageKind::Reply,
        _ => MessageKind::System,
    };
    MessageOrigin {
        kind,
        via_webhook: msg.webhook_id.is_some(),
    }
}

/// The message as someone's speech, or `None` for a system notice or a webhook post
/// (`domain::speech`): those are neither logged nor answered.
pub fn speech(msg: &Message) -> Option<IncomingMessage> {
    origin(msg).is_speech().then(|| incoming(msg))
}

fn incoming(msg: &Message) -> IncomingMessage {
    let display = display_name(msg);
    IncomingMessage {
        message: LoggedMessage {
            id: MessageId(msg.id.get()),
            channel_id: ChannelId(msg.channel_id.get()),
            guild_id: msg.guild_id.map(|g| GuildId(g.get())),
            author_id: UserId(msg.author.id.get()),
            author_name: display.clone().unwrap_or_else(|| msg.author.name.clone()),
            is_bot: msg.author.bot,
            content: msg.content.clone(),
            reply_to: msg
                .message_reference
                .as_ref()
                .and_then(|r| r.message_id)
                .map(|id| MessageId(id.get())),
            created_at: to_timestamp(msg.timestamp),
        },
        mentions: msg.mentions.iter().map(|u| UserId(u.id.get())).collect(),
        mentions_everyone: msg.mention_everyone,
        replied_to_author: msg
            .referenced_message
            .as_ref()
            .map(|m| UserId(m.author.id.get())),
        author_username: msg.author.name.clone(),
        author_display: display,
    }
}
