//! Speaking in a channel as the bot: what every kind of message (a reply, a proactive post)
//! needs, turning the model's text into what Discord shows, and sending it split to
//! Discord's limit with only the intended member pinged.

use super::budget::BudgetGate;
use crate::config::Settings;
use crate::domain::emotes::EmoteCatalog;
use crate::domain::split::{DISCORD_LIMIT, split_message};
use crate::domain::{BotIdentity, ChannelId, GuildId, LoggedMessage, MessageId};
use crate::ports::store::ConversationStore;
use crate::ports::{ChatError, ChatPort, LanguageModel, Outgoing};
use std::sync::Arc;

/// What speaking in a channel needs.
pub struct SpeakingDeps {
    pub store: Arc<dyn ConversationStore>,
    pub llm: Arc<dyn LanguageModel>,
    pub chat: Arc<dyn ChatPort>,
    pub settings: Arc<Settings>,
    /// Every model call of a reply or proactive post goes through it.
    pub budget: Arc<BudgetGate>,
}

/// The reply prompt's token budgets, as configured.
pub fn prompt_budget(settings: &crate::config::BotSettings) -> crate::domain::budget::PromptBudget {
    crate::domain::budget::PromptBudget {
        total: settings.prompt_token_budget,
        transcript: settings.transcript_token_budget,
        persona: settings.persona_token_budget,
        facts: settings.facts_token_budget,
        reply_to: settings.reply_to_token_budget,
    }
}

/// The server's custom emotes (none outside a server).
pub async fn emote_catalog(chat: &dyn ChatPort, guild: Option<GuildId>) -> EmoteCatalog {
    match guild {
        Some(guild) => EmoteCatalog {
            custom: chat.custom_emotes(guild).await,
        },
        None => EmoteCatalog::default(),
    }
}

/// The model's text as it goes to Discord: no echoed name prefix, `:emote:` rendered.
pub fn polish(catalog: &EmoteCatalog, raw: &str, bot_name: &str) -> String {
    catalog.render(strip_name_prefix(raw, bot_name))
}

/// Models sometimes echo the transcript format ("Aria: hi"); the chat shows the name already.
fn strip_name_prefix<'a>(text: &'a str, name: &str) -> &'a str {
    let trimmed = text.trim();
    match trimmed.split_once(':') {
        Some((head, rest)) if head.trim().eq_ignore_ascii_case(name) => rest.trim_start(),
        _ => trimmed,
    }
}

/// Where a message goes: a channel, optionally as a reply to (and pinging the author of)
/// one message.
pub struct Delivery<'a> {
    pub channel: ChannelId,
    pub guild: Option<GuildId>,
    pub reply_to: Option<&'a LoggedMessage>,
    /// At most this many Discord messages (`bot.max_reply_messages`): the split can need
    /// one more than the characters alone suggest (it breaks at paragraphs), and the rest is
    /// dropped at a part's boundary rather than sending a wall of messages.
    pub max_parts: usize,
}

/// Sends text split to Discord's limit; only the first part replies and pings, and only the
/// member being answered. Sent parts are logged as the bot's messages straight away.
pub async fn deliver(
    chat: &dyn ChatPort,
    store: &dyn ConversationStore,
    bot: &BotIdentity,
    to: Delivery<'_>,
    text: &str,
) -> Result<Vec<MessageId>, ChatError> {
    let mut sent = Vec::new();
    let mut parts = split_message(text, DISCORD_LIMIT);
    if parts.len() > to.max_parts.max(1) {
        tracing::debug!(
            parts = parts.len(),
            max = to.max_parts,
            "answer cut to the message limit"
        );
        parts.truncate(to.max_parts.max(1));
    }
    for part in parts {
        let target = if sent.is_empty() { to.reply_to } else { None };
        let outgoing = Outgoing {
            channel: to.channel,
            reply_to: target.map(|m| m.id),
            ping: target.map(|m| m.author_id),
            text: part.clone(),
        };
        let id = match chat.send(outgoing).await {
            Ok(id) => id,
            Err(error) => {
                tracing::warn!(%error, channel = %to.channel, "could not send a message");
                return Err(error);
            }
        };
        sent.push(id);
        store
            .append_message(LoggedMessage {
                id,
                channel_id: to.channel,
                guild_id: to.guild,
                author_id: bot.id,
                author_name: bot.name.clone(),
                is_bot: true,
                content: part,
                reply_to: target.map(|m| m.id),
                created_at: id.created_at(),
            })
            .await;
    }
    Ok(sent)
}
