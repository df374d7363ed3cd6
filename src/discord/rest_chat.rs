//! `ChatPort` over serenity: sending with safe mentions, typing, emotes and presence.
//!
//! The HTTP client, cache and shard messenger exist only once the gateway has built its
//! client, and are replaced when the gateway restarts; until then calls fail with
//! `NotConnected` instead of panicking.

use crate::domain::emotes::CustomEmote;
use crate::domain::{ChannelId, EmojiId, GuildId, MessageId};
use crate::ports::{ChatError, ChatPort, Outgoing, TypingGuard};
use async_trait::async_trait;
use serenity::all::{
    ActivityData, Cache, CreateAllowedMentions, CreateMessage, Http, ShardMessenger,
};
use std::sync::{Arc, RwLock};

#[derive(Default)]
pub struct DiscordChat {
    http: RwLock<Option<Arc<Http>>>,
    cache: RwLock<Option<Arc<Cache>>>,
    /// Every shard this process runs (presence is set per shard connection).
    shards: RwLock<std::collections::BTreeMap<u32, ShardMessenger>>,
}

impl DiscordChat {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn attach(&self, http: Arc<Http>, cache: Arc<Cache>) {
        if let Ok(mut slot) = self.http.write() {
            *slot = Some(http);
        }
        if let Ok(mut slot) = self.cache.write() {
            *slot = Some(cache);
        }
    }

    pub(crate) fn attach_shard(&self, id: u32, shard: ShardMessenger) {
        if let Ok(mut shards) = self.shards.write() {
            shards.insert(id, shard);
        }
    }

    pub fn http(&self) -> Result<Arc<Http>, ChatError> {
        self.http
            .read()
            .ok()
            .and_then(|h| h.clone())
            .ok_or(ChatError::NotConnected)
    }

    fn cache(&self) -> Option<Arc<Cache>> {
        self.cache.read().ok().and_then(|c| c.clone())
    }
}

/// Mentions allowed in a message: at most the one member being answered.
pub fn only_ping(user: Option<crate::domain::UserId>) -> CreateAllowedMentions {
    let allowed = CreateAllowedMentions::new().replied_user(user.is_some());
    match user {
        Some(user) => allowed.users([serenity::all::UserId::new(user.0)]),
        None => allowed,
    }
}

/// Counts a failed REST call by its HTTP status (`transport`: no answer at all).
pub(crate) fn count_rest_error(error: &serenity::Error) {
    let kind = match error {
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r)) => {
            r.status_code.as_u16().to_string()
        }
        serenity::Error::Http(_) => "transport".to_owned(),
        _ => "other".to_owned(),
    };
    crate::telemetry::metrics::rest_error(kind);
}

pub(crate) fn classify(error: serenity::Error) -> ChatError {
    count_rest_error(&error);
    match error {
        serenity::Error::Http(http) => match &http {
            serenity::all::HttpError::UnsuccessfulRequest(_) => {
                ChatError::Rejected(http.to_string())
            }
            _ => ChatError::Transport(http.to_string()),
        },
        other => ChatError::Rejected(other.to_string()),
    }
}

#[async_trait]
impl ChatPort for DiscordChat {
    async fn send(&self, message: Outgoing) -> Result<MessageId, ChatError> {
        let http = self.http()?;
        let channel = serenity::all::ChannelId::new(message.channel.0);
        let mut builder = CreateMessage::new()
            .content(message.text)
            .allowed_mentions(only_ping(message.ping));
        if let Some(reply_to) = message.reply_to {
            let mut reference = serenity::all::MessageReference::from((
                channel,
                serenity::all::MessageId::new(reply_to.0),
            ));
            // The question may be deleted while the model thinks: answer anyway, unthreaded.
            reference.fail_if_not_exists = Some(false);
            builder = builder.reference_message(reference);
        }
        let sent = channel
            .send_message(&http, builder)
            .await
            .map_err(classify)?;
        Ok(MessageId(sent.id.get()))
    }

    fn start_typing(&self, channel: ChannelId) -> TypingGuard {
        match self.http() {
            Ok(http) => Box::new(serenity::all::ChannelId::new(channel.0).start_typing(&http)),
            Err(_) => Box::new(()),
        }
    }

    async fn custom_emotes(&self, guild: GuildId) -> Vec<CustomEmote> {
        let to_domain = |e: &serenity::all::Emoji| CustomEmote {
            id: EmojiId(e.id.get()),
            name: e.name.clone(),
            animated: e.animated,
        };
        let gid = serenity::all::GuildId::new(guild.0);
        if let Some(cache) = self.cache()
            && let Some(g) = cache.guild(gid)
        {
            return g.emojis.values().map(to_domain).collect();
        }
        let Ok(http) = self.http() else {
            return Vec::new();
        };
        match gid.emojis(&http).await {
            Ok(emojis) => emojis.iter().map(to_domain).collect(),
            Err(error) => {
                tracing::debug!(%error, %guild, "could not list the server's emotes");
                Vec::new()
            }
        }
    }

    fn server_name(&self, guild: GuildId) -> Option<String> {
        let cache = self.cache()?;
        let name = cache
            .guild(serenity::all::GuildId::new(guild.0))?
            .name
            .clone();
        Some(name)
    }

    fn own_nickname(&self, guild: GuildId) -> Option<String> {
        let cache = self.cache()?;
        let me = cache.current_user().id;
        let guild = cache.guild(serenity::all::GuildId::new(guild.0))?;
        guild.members.get(&me)?.nick.clone()
    }

    async fn set_status(&self, text: &str) -> Result<(), ChatError> {
        let shards: Vec<ShardMessenger> = self
            .shards
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        if shards.is_empty() {
            return Err(ChatError::NotConnected);
        }
        for shard in shards {
            shard.set_activity(Some(ActivityData::custom(text)));
        }
        Ok(())
    }
}
