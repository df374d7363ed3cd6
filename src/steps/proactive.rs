//! The proactive step: on each scheduler tick, for every channel where a server turned it
//! on, maybe say something unprompted. The rules (cap, not after itself, not into an idle
//! channel, the roll, the comment/musing fork) are `domain::proactive`; this file gathers
//! their inputs and sends the result on the same path as replies.

use super::speaking::{Delivery, SpeakingDeps, deliver, emote_catalog, polish};
use crate::config::Settings;
use crate::domain::mood::Mood;
use crate::domain::proactive::{ProactiveDecision, ProactiveInput, decide};
use crate::domain::spend::Charge;
use crate::domain::{BotIdentity, ChannelEvent, ChannelId, GuildId, LoggedMessage, ProactiveKind};
use crate::ports::store::{ProactiveStore, StoreError};
use crate::ports::{ChannelSink, CompletionRequest};
use crate::prompts;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use std::sync::{Arc, Mutex, RwLock};

/// How many recent messages an on-topic comment sees.
const COMMENT_CONTEXT: u64 = 20;

pub struct ProactiveDeps {
    pub store: Arc<dyn ProactiveStore>,
    /// Decided messages go to the channel's actor, so they queue behind its replies.
    pub channels: Arc<dyn ChannelSink>,
    pub settings: Arc<Settings>,
    pub bot: Arc<RwLock<Option<BotIdentity>>>,
    pub rng: Mutex<StdRng>,
    /// Only channels of servers this process owns are ticked here.
    pub ownership: super::standby::Ownership,
}

#[derive(Debug, thiserror::Error)]
pub enum ProactiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One tick over every enabled channel. Returns what was decided per channel.
pub async fn tick(
    deps: &ProactiveDeps,
    now: DateTime<Utc>,
) -> Result<Vec<(ChannelId, ProactiveDecision)>, ProactiveError> {
    let Some(bot) = deps.bot.read().ok().and_then(|b| b.clone()) else {
        return Ok(Vec::new());
    };
    let channels = deps.store.proactive_channels().await?;
    let mut decisions = Vec::with_capacity(channels.len());
    for channel in channels {
        let last = deps.store.last_message(channel).await?;
        // A channel with no message yet has no known server: shard 0's process has it.
        let guild = last
            .as_ref()
            .map_or(GuildId::DIRECT, |m| GuildId::scope(m.guild_id));
        if !deps.ownership.owns(guild) {
            continue;
        }
        let decision = tick_channel(deps, &bot, channel, last, now).await?;
        decisions.push((channel, decision));
    }
    Ok(decisions)
}

async fn tick_channel(
    deps: &ProactiveDeps,
    bot: &BotIdentity,
    channel: ChannelId,
    last: Option<LoggedMessage>,
    now: DateTime<Utc>,
) -> Result<ProactiveDecision, ProactiveError> {
    let schedule = &deps.settings.schedule;
    let day_start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(now);
    let posts_today = deps.store.proactive_posts_since(channel, day_start).await?;
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
    deps.channels
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
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    last: &LoggedMessage,
    kind: ProactiveKind,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let channel = last.channel_id;
    let store = &deps.store;
    let persona = store
        .persona(last.guild_id)
        .await
        .map_err(|e| e.to_string())?;
    // It speaks as the persona this server knows, read now like the rest of the persona.
    let speaker = BotIdentity {
        id: bot.id,
        name: persona.name_or(&deps.settings.bot.name).to_owned(),
    };
    let bot = &speaker;
    let mood = Mood {
        values: store.mood().await.map_err(|e| e.to_string())?,
    };
    let turns = match kind {
        ProactiveKind::Comment => {
            let since =
                now - chrono::Duration::hours(i64::from(deps.settings.bot.transcript_hours));
            let recent = store
                .recent_messages(channel, since, COMMENT_CONTEXT)
                .await
                .map_err(|e| e.to_string())?;
            prompts::proactive_comment(&persona, &mood.describe(), &bot.name, bot.id, &recent, now)
        }
        ProactiveKind::Musing => {
            let status = store.status_line().await.map_err(|e| e.to_string())?;
            prompts::proactive_musing(&persona, &mood.describe(), &bot.name, status.as_deref())
        }
    };
    let charge = Charge::server(last.guild_id);
    let raw = deps
        .budget
        .complete(
            deps.llm.as_ref(),
            charge,
            CompletionRequest::chat(turns)
                .in_background()
                .spoken_by(&bot.name, deps.settings.bot.speech_chars()),
        )
        .await
        .map_err(|e| e.to_string())?;
    let catalog = emote_catalog(deps.chat.as_ref(), last.guild_id).await;
    let text = polish(&catalog, &raw, &bot.name);
    let target = Delivery {
        channel,
        guild: last.guild_id,
        reply_to: None,
        max_parts: deps.settings.bot.max_reply_messages,
    };
    let sent = deliver(deps.chat.as_ref(), store.as_ref(), bot, target, &text)
        .await
        .map_err(|e| e.to_string())?;
    let first_id = sent.first().copied();
    store
        .record_proactive_post(channel, first_id, kind, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, Sources};
    use crate::domain::shards::ShardSet;
    use crate::domain::{MessageId, UserId};
    use crate::steps::standby::Ownership;
    use async_trait::async_trait;
    use rand::SeedableRng;

    const NEAR: ChannelId = ChannelId(4000);
    const FAR: ChannelId = ChannelId(4200);
    const FAR_GUILD: GuildId = GuildId((1 << 22) | 2002);

    struct Channels;

    #[async_trait]
    impl ProactiveStore for Channels {
        async fn proactive_channels(&self) -> Result<Vec<ChannelId>, StoreError> {
            Ok(vec![NEAR, FAR])
        }
        async fn last_message(
            &self,
            channel: ChannelId,
        ) -> Result<Option<LoggedMessage>, StoreError> {
            let guild = if channel == FAR {
                FAR_GUILD
            } else {
                GuildId(2000)
            };
            Ok(Some(LoggedMessage {
                id: MessageId(1),
                channel_id: channel,
                guild_id: Some(guild),
                author_id: UserId(3000),
                author_name: "alice".into(),
                is_bot: false,
                content: "anyone around?".into(),
                reply_to: None,
                created_at: Utc::now() - chrono::Duration::minutes(5),
            }))
        }
        async fn proactive_posts_since(
            &self,
            _: ChannelId,
            _: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    #[derive(Default)]
    struct Sink(Mutex<Vec<ChannelEvent>>);

    #[async_trait]
    impl ChannelSink for Sink {
        async fn deliver(&self, event: ChannelEvent) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        }
    }

    /// A process running shard 1 of 2 ticks only the channel of its server.
    #[tokio::test]
    async fn a_tick_speaks_only_in_servers_this_process_owns() {
        let settings = Settings::load(Sources {
            file: None,
            env: vec![("PERSONABOT__SCHEDULE__PROACTIVE_CHANCE".into(), "1".into())],
        })
        .expect("settings");
        let sink = Arc::new(Sink::default());
        let ownership = Ownership::new(ShardSet::parse("1..2", 2).expect("range"), true);
        let deps = ProactiveDeps {
            store: Arc::new(Channels),
            channels: sink.clone(),
            settings: Arc::new(settings),
            bot: Arc::new(RwLock::new(Some(BotIdentity {
                id: UserId(1000),
                name: "Aria".into(),
            }))),
            rng: Mutex::new(StdRng::seed_from_u64(7)),
            ownership: ownership.clone(),
        };
        let decided = tick(&deps, Utc::now()).await.expect("tick");
        assert_eq!(decided.len(), 1, "{decided:?}");
        assert_eq!(decided[0].0, FAR);
        let delivered = sink.0.lock().unwrap_or_else(|e| e.into_inner()).len();
        assert_eq!(delivered, 1);
        // A standby (not holding its shards) speaks nowhere.
        ownership.set_active(false);
        assert!(tick(&deps, Utc::now()).await.expect("tick").is_empty());
    }
}
