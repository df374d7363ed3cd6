//! Stub ports for the tiers that run the real actors without Discord or a model: the
//! in-process tests and the conversation benchmark include this one file (`#[path]`), so
//! both measure and check the same stubs.
#![allow(dead_code)]

use async_trait::async_trait;
use chrono::Utc;
use personabot::actors::store::StoreHandle;
use personabot::domain::emotes::CustomEmote;
use personabot::domain::{ChannelId, ChatRole, EmojiId, GuildId, MessageId, UserId};
use personabot::ports::{
    BanPort, ChatError, ChatPort, CompletionRequest, LanguageModel, LlmError, ModelRole, Outgoing,
    TypingGuard, UnbanError, UnbanOutcome,
};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Answers every prompt with the last user line ("heard: …"), after an optional delay for
/// the first call; records how many store round trips had happened when each call came
/// in (once `store` is set), and reports when each chat completion was asked for (`asked`).
#[derive(Default)]
pub struct StubModel {
    pub calls: AtomicU64,
    pub first_delay: Mutex<Option<Duration>>,
    pub store_trips_at_call: Mutex<Vec<u64>>,
    pub store: Mutex<Option<StoreHandle>>,
    pub asked: Option<UnboundedSender<Instant>>,
}

impl StubModel {
    /// A model that sends the time of each chat completion request to `asked`.
    pub fn reporting(asked: UnboundedSender<Instant>) -> Self {
        Self {
            asked: Some(asked),
            ..Self::default()
        }
    }
}

#[async_trait]
impl LanguageModel for StubModel {
    async fn complete(&self, request: CompletionRequest) -> Result<String, LlmError> {
        if request.role == ModelRole::Chat
            && let Some(asked) = &self.asked
        {
            let _ = asked.send(Instant::now());
        }
        if let Some(store) = self.store.lock().expect("lock").as_ref() {
            self.store_trips_at_call
                .lock()
                .expect("lock")
                .push(store.round_trips());
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = self.first_delay.lock().expect("lock").take();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let last = request
            .turns
            .iter()
            .rev()
            .find(|t| t.role == ChatRole::User)
            .map(|t| t.content.clone())
            .unwrap_or_default();
        Ok(format!(
            "heard: {}",
            last.lines().last().unwrap_or_default()
        ))
    }

    async fn embed(&self, _texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, LlmError> {
        Ok(None)
    }

    fn embedding_model(&self) -> Option<String> {
        None
    }
}

/// The chat platform: every send succeeds at once with a snowflake of the current time
/// (the bot's rows are stamped from it). Sends are kept (`sent`, unless built with
/// `reporting`, which keeps none so memory figures stay the bot's own) and, for
/// `reporting`, the message each one answered is sent on a channel.
pub struct StubChat {
    next_id: AtomicU64,
    pub sent: Mutex<Vec<Outgoing>>,
    keep: bool,
    replied: Option<UnboundedSender<MessageId>>,
    emotes: Vec<CustomEmote>,
}

impl Default for StubChat {
    fn default() -> Self {
        Self {
            next_id: AtomicU64::new(1),
            sent: Mutex::default(),
            keep: true,
            replied: None,
            emotes: Vec::new(),
        }
    }
}

impl StubChat {
    /// Keeps nothing; reports the message each send answered; two custom emotes per server.
    pub fn reporting(replied: UnboundedSender<MessageId>) -> Self {
        let emote = |id, name: &str, animated| CustomEmote {
            id: EmojiId(id),
            name: name.into(),
            animated,
        };
        Self {
            keep: false,
            replied: Some(replied),
            emotes: vec![
                emote(7000, "partyblob", false),
                emote(7001, "dancecat", true),
            ],
            ..Self::default()
        }
    }
}

#[async_trait]
impl ChatPort for StubChat {
    async fn send(&self, message: Outgoing) -> Result<MessageId, ChatError> {
        let ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
        let seq = self.next_id.fetch_add(1, Ordering::SeqCst) & 0xfff;
        let id = MessageId(((ms - 1_420_070_400_000) << 22) | seq);
        if let Some(replied) = &self.replied {
            let _ = replied.send(message.reply_to.unwrap_or(id));
        }
        if self.keep {
            self.sent.lock().expect("lock").push(message);
        }
        Ok(id)
    }

    fn start_typing(&self, _channel: ChannelId) -> TypingGuard {
        Box::new(())
    }

    async fn custom_emotes(&self, _guild: GuildId) -> Vec<CustomEmote> {
        self.emotes.clone()
    }

    async fn set_status(&self, _text: &str) -> Result<(), ChatError> {
        Ok(())
    }
}

#[async_trait]
impl BanPort for StubChat {
    async fn unban(
        &self,
        _guild: GuildId,
        _user: UserId,
        _reason: &str,
    ) -> Result<UnbanOutcome, UnbanError> {
        Ok(UnbanOutcome::Lifted)
    }

    async fn notify(&self, _channel: ChannelId, _text: &str) -> Result<(), ChatError> {
        Ok(())
    }
}
