//! The proactive step: on each scheduler tick, for every channel where a server turned it
//! on, maybe say something unprompted. The rules (cap, not after itself, not into an idle
//! channel, the roll, the comment/musing fork) are `domain::proactive`; this file gathers
//! their inputs and sends the result on the same path as replies.

use crate::actors::conversation::{BotIdentity, ChannelEvent, ConversationDeps};
use crate::actors::router::RouterHandle;
use crate::actors::store::{StoreCallError, StoreHandle};
use crate::config::Settings;
use crate::daily::STATUS_KEY;
use crate::domain::mood::Mood;
use crate::domain::proactive::{ProactiveDecision, ProactiveInput, decide};
use crate::domain::{ChannelId, LoggedMessage};
use crate::llm::CompletionRequest;
use crate::prompts;
use crate::reply::{Delivery, deliver, emote_catalog, polish};
use crate::store::ProactiveKind;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use std::sync::{Arc, Mutex, RwLock};

/// How many recent messages an on-topic comment sees.
const COMMENT_CONTEXT: u64 = 20;

pub struct ProactiveDeps {
    pub store: StoreHandle,
    /// Decided messages go to the channel's actor, so they queue behind its replies.
    pub router: RouterHandle,
    pub settings: Arc<Settings>,
    pub bot: Arc<RwLock<Option<BotIdentity>>>,
    pub rng: Mutex<StdRng>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProactiveError {
    #[error(transparent)]
    Store(#[from] StoreCallError),
}

/// One tick over every enabled channel. Returns what was decided per channel.
pub async fn tick(
    deps: &ProactiveDeps,
    now: DateTime<Utc>,
) -> Result<Vec<(ChannelId, ProactiveDecision)>, ProactiveError> {
    let Some(bot) = deps.bot.read().ok().and_then(|b| b.clone()) else {
        return Ok(Vec::new());
    };
    let channels = deps
        .store
        .read(|s| async move { s.proactive_channels().await })
        .await?;
    let mut decisions = Vec::with_capacity(channels.len());
    for channel in channels {
        let decision = tick_channel(deps, &bot, channel, now).await?;
        decisions.push((channel, decision));
    }
    Ok(decisions)
}

async fn tick_channel(
    deps: &ProactiveDeps,
    bot: &BotIdentity,
    channel: ChannelId,
    now: DateTime<Utc>,
) -> Result<ProactiveDecision, ProactiveError> {
    let schedule = &deps.settings.schedule;
    let day_start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(now);
    let last = deps
        .store
        .read(move |s| async move { s.last_message(channel).await })
        .await?;
    let posts_today = deps
        .store
        .read(move |s| async move { s.proactive_posts_since(channel, day_start).await })
        .await?;
    let input = ProactiveInput {
        chance: schedule.proactive_chance,
        last_message_is_bot: last.as_ref().is_some_and(|m| m.author_id == bot.id),
        last_activity_age: last.as_ref().map(|m| now - m.created_at),
        idle_limit: chrono::Duration::hours(i64::from(schedule.proactive_idle_hours)),
        posts_today: u32::try_from(posts_today).unwrap_or(u32::MAX),
        daily_cap: schedule.proactive_daily_cap,
    };
    let decision = {
        let mut rng = deps
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        decide(&input, &mut *rng)
    };
    let kind = match decision {
        ProactiveDecision::Skip(reason) => {
            tracing::debug!(%channel, ?reason, "no proactive message");
            return Ok(decision);
        }
        ProactiveDecision::Comment => ProactiveKind::Comment,
        ProactiveDecision::Musing => ProactiveKind::Musing,
    };
    let Some(last) = last else {
        return Ok(decision);
    };
    deps.router
        .deliver(ChannelEvent::Proactive {
            bot: bot.clone(),
            last,
            kind,
        })
        .await;
    Ok(decision)
}

/// Writes and sends one proactive message; run by the channel's actor in its reply queue.
pub async fn speak(
    deps: &ConversationDeps,
    bot: &BotIdentity,
    last: &LoggedMessage,
    kind: ProactiveKind,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let channel = last.channel_id;
    let store = &deps.store;
    let persona = store
        .read(|s| async move { s.persona().await })
        .await
        .map_err(|e| e.to_string())?;
    let mood = Mood {
        values: store
            .read(|s| async move { s.mood().await })
            .await
            .map_err(|e| e.to_string())?,
    };
    let turns = match kind {
        ProactiveKind::Comment => {
            let since =
                now - chrono::Duration::hours(i64::from(deps.settings.bot.transcript_hours));
            let recent =
                store
                    .read(move |s| async move {
                        s.recent_messages(channel, since, COMMENT_CONTEXT).await
                    })
                    .await
                    .map_err(|e| e.to_string())?;
            prompts::proactive_comment(&persona, &mood.describe(), &bot.name, bot.id, &recent, now)
        }
        ProactiveKind::Musing => {
            let status = store
                .read(|s| async move { s.global_text(STATUS_KEY).await })
                .await
                .map_err(|e| e.to_string())?;
            prompts::proactive_musing(&persona, &mood.describe(), &bot.name, status.as_deref())
        }
    };
    let raw = deps
        .llm
        .complete(CompletionRequest::chat(turns))
        .await
        .map_err(|e| e.to_string())?;
    let catalog = emote_catalog(deps.chat.as_ref(), last.guild_id).await;
    let text = polish(&catalog, &raw, &bot.name);
    let target = Delivery {
        channel,
        guild: last.guild_id,
        reply_to: None,
    };
    let sent = deliver(deps.chat.as_ref(), store, bot, target, &text)
        .await
        .map_err(|e| e.to_string())?;
    let first_id = sent.first().copied();
    store
        .write(move |s| async move { s.record_proactive_post(channel, first_id, kind, now).await })
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
