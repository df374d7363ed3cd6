//! Which messages are a member speaking.
//!
//! A channel also carries messages nobody typed: the platform's own notices (a member
//! joined, a message was pinned, the server was boosted, a thread was started), responses
//! to application commands, and posts from webhooks (integrations, bridges, announcements
//! followed from elsewhere). None of them is anyone's speech: they are not logged as what a
//! member said (and so never reach a prompt or a member's remembered facts), and they never
//! address the bot, whatever their text says.

/// What a message is, as far as the conversation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Typed by its author (Discord's DEFAULT).
    Regular,
    /// Typed by its author as a reply to another message (Discord's REPLY).
    Reply,
    /// Written by the platform or an application: joins, pins, boosts, thread events,
    /// command responses, calls, and every kind not listed above.
    System,
}

/// Where a message came from: its kind, and whether a webhook posted it (a webhook's
/// "author" is a name and avatar chosen by whoever holds the webhook, not a member).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageOrigin {
    pub kind: MessageKind,
    pub via_webhook: bool,
}

impl MessageOrigin {
    /// Whether the message is something a member (or a bot account) said, to be logged as
    /// their speech and considered for a reply.
    pub fn is_speech(self) -> bool {
        !self.via_webhook && matches!(self.kind, MessageKind::Regular | MessageKind::Reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(kind: MessageKind, via_webhook: bool) -> MessageOrigin {
        MessageOrigin { kind, via_webhook }
    }

    #[test]
    fn typed_messages_and_replies_are_speech() {
        assert!(origin(MessageKind::Regular, false).is_speech());
        assert!(origin(MessageKind::Reply, false).is_speech());
    }

    #[test]
    fn system_messages_are_not_speech() {
        assert!(!origin(MessageKind::System, false).is_speech());
    }

    #[test]
    fn webhook_posts_are_not_speech_whatever_their_kind() {
        for kind in [
            MessageKind::Regular,
            MessageKind::Reply,
            MessageKind::System,
        ] {
            assert!(!origin(kind, true).is_speech(), "{kind:?} from a webhook");
        }
    }
}
