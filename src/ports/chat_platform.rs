//! The chat-platform port: what the actors need from Discord, and nothing more.
//!
//! `discord::DiscordChat` implements it over serenity's HTTP client; actors and tests only
//! see this trait, which keeps serenity types inside `discord/`.

use crate::domain::emotes::CustomEmote;
use crate::domain::lifting::UnbanFailure;
use crate::domain::{ChannelId, GuildId, MessageId, UserId};
use async_trait::async_trait;

/// One message to post. Splitting to Discord's length limit happens before this point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub channel: ChannelId,
    /// Sent as a Discord reply to this message.
    pub reply_to: Option<MessageId>,
    /// The only user this message may ping; `@everyone`, roles and other users never ping.
    pub ping: Option<UserId>,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("Discord refused the request: {0}")]
    Rejected(String),
    #[error("Discord could not be reached: {0}")]
    Transport(String),
    #[error("not connected to the gateway yet")]
    NotConnected,
}

/// Keeps the typing indicator on while alive.
pub type TypingGuard = Box<dyn Send + Sync>;

#[async_trait]
pub trait ChatPort: Send + Sync + 'static {
    async fn send(&self, message: Outgoing) -> Result<MessageId, ChatError>;

    fn start_typing(&self, channel: ChannelId) -> TypingGuard;

    /// The server's custom emotes (gateway cache first, REST otherwise).
    async fn custom_emotes(&self, guild: GuildId) -> Vec<CustomEmote>;

    /// Sets the bot's custom status (presence) through the gateway.
    async fn set_status(&self, text: &str) -> Result<(), ChatError>;

    /// The nickname a server's admins gave the bot (gateway cache), if any: members call it
    /// by that name there.
    fn own_nickname(&self, guild: GuildId) -> Option<String> {
        let _ = guild;
        None
    }

    /// The server's name (gateway cache), if known.
    fn server_name(&self, guild: GuildId) -> Option<String> {
        let _ = guild;
        None
    }
}

/// What Discord said to an unban.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnbanOutcome {
    Lifted,
    /// There was no ban any more (a moderator unbanned by hand): nothing left to do.
    NotBanned,
}

/// Why an unban did not happen, sorted for the lifter's retry rules
/// (`crate::domain::lifting`).
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct UnbanError {
    pub kind: UnbanFailure,
    pub detail: String,
}

/// What the ban lifter needs from Discord (implemented over serenity in `discord/`).
#[async_trait]
pub trait BanPort: Send + Sync + 'static {
    /// Lifts a ban; 404 Unknown Ban is `NotBanned`, not an error.
    async fn unban(
        &self,
        guild: GuildId,
        user: UserId,
        reason: &str,
    ) -> Result<UnbanOutcome, UnbanError>;

    /// Posts a notice for the moderators (the server's log channel); never pings anyone.
    async fn notify(&self, channel: ChannelId, text: &str) -> Result<(), ChatError>;
}

/// How a connection to the chat platform ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The platform refused the bot in a way no reconnect fixes (bad token, intents not
    /// enabled): the operator has to act.
    Refused(String),
    /// It stopped for another reason: worth connecting again.
    Dropped(String),
}

/// The live connection that brings events in (Discord's gateway). The Gateway actor runs
/// it and restarts it when it drops.
#[async_trait]
pub trait ChatGateway: Send + Sync + 'static {
    /// Connects and serves events until the connection ends or [`ChatGateway::stop`] is
    /// called.
    async fn run(&self) -> ConnectionEnd;
    /// Closes a running connection (shutdown).
    async fn stop(&self);
}
