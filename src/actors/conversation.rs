//! ConversationActor: one per channel. Logs every event of its channel in order, admits
//! messages as `domain::plan::admit` decides, and runs at most one reply at a time so
//! replies leave in the order they were asked for. The reply itself (store read, plan, LLM
//! call, sending) runs in a spawned task that reports what it said, so the mailbox keeps
//! logging messages meanwhile; the actor only remembers it (whom it answered, whether the
//! channel heard the trouble line).
//!
//! The queue stays short (`domain::backlog`): a few jobs at most, one per member (their
//! newest mention, the others are in the transcript), none started for a mention older than
//! `overload.max_mention_age_secs`, and none queued while the model's breaker refuses calls
//! once this channel has said its "having trouble" line for the outage.

use super::store::StoreHandle;
use crate::config::Settings;
use crate::domain::backlog::{BacklogPolicy, Placement, worth_queueing};
use crate::domain::plan::{self, Admission, Arrival, ChannelMemory, Notice};
use crate::domain::trigger::{self, TriggerInput};
use crate::domain::{
    BotIdentity, ChannelEvent, ChannelId, ChannelPolicy, IncomingMessage, LoggedMessage, MessageId,
    ProactiveKind, UserId,
};
use crate::ports::store::MemberSighting;
use crate::steps::reply::{self, ReplyJob};
use crate::steps::speaking::SpeakingDeps;
use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use tracing::Instrument;

/// Per-member and per-channel reply budgets, shared by all channels.
pub struct ReplyLimits {
    users: DefaultKeyedRateLimiter<UserId>,
    channels: DefaultKeyedRateLimiter<ChannelId>,
}

impl ReplyLimits {
    pub fn new(per_user_per_minute: u32, per_channel_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            users: DefaultKeyedRateLimiter::keyed(quota(per_user_per_minute)),
            channels: DefaultKeyedRateLimiter::keyed(quota(per_channel_per_minute)),
        }
    }

    /// The member's own budget first, so someone over their limit cannot use up the
    /// channel's budget for everyone else.
    fn allow(&self, user: UserId, channel: ChannelId) -> bool {
        self.users.check_key(&user).is_ok() && self.channels.check_key(&channel).is_ok()
    }

    /// Forgets keys whose budget is full again (they behave exactly like new ones), so the
    /// limiters hold only members and channels active within the last minute.
    pub fn forget_idle_keys(&self) {
        self.users.retain_recent();
        self.users.shrink_to_fit();
        self.channels.retain_recent();
        self.channels.shrink_to_fit();
    }

    /// Keys currently held (for tests and stats).
    pub fn keys(&self) -> usize {
        self.users.len() + self.channels.len()
    }
}

/// What every channel actor shares.
pub struct ConversationDeps {
    /// What the reply step needs (store port, model, chat, settings).
    pub speaking: Arc<SpeakingDeps>,
    /// Logging the channel's events.
    pub store: StoreHandle,
    pub settings: Arc<Settings>,
    pub limits: ReplyLimits,
}

pub enum ConversationMsg {
    /// Boxed: queued events stay small in the mailbox.
    Event(Box<ChannelEvent>),
    /// The bot was switched on or off here (or in the whole server): read the policy again.
    PolicyChanged,
    /// The router asks whether the channel is idle (no reply running or queued); if so the
    /// actor answers `true` and stops. The router sends nothing else to it meanwhile.
    StopIfIdle(ractor::RpcReplyPort<bool>),
    /// The in-flight reply finished (sent, or given up).
    ReplyFinished {
        /// Who was answered, and when (Discord's time of the answer).
        answered: Option<(UserId, DateTime<Utc>)>,
        /// The notice said instead of an answer, if any.
        notice: Option<Notice>,
    },
}

pub struct ConversationActor;

pub struct ConversationState {
    channel: ChannelId,
    deps: Arc<ConversationDeps>,
    /// The reply task in flight (at most one per channel), awaited on shutdown so an answer
    /// already sent is logged.
    running: Option<tokio::task::JoinHandle<()>>,
    queue: VecDeque<ReplyJob>,
    /// Whom the bot answered here, and what the channel was told (rate limit, trouble).
    memory: ChannelMemory,
    /// Whether the bot speaks here, read once and kept until `/bot` changes it.
    policy: Option<ChannelPolicy>,
    backlog: BacklogPolicy,
}

impl Actor for ConversationActor {
    type Msg = ConversationMsg;
    type State = ConversationState;
    type Arguments = (ChannelId, Arc<ConversationDeps>);

    async fn pre_start(
        &self,
        _me: ActorRef<ConversationMsg>,
        (channel, deps): (ChannelId, Arc<ConversationDeps>),
    ) -> Result<ConversationState, ActorProcessingErr> {
        Ok(ConversationState {
            channel,
            running: None,
            queue: VecDeque::new(),
            memory: ChannelMemory::default(),
            policy: None,
            backlog: BacklogPolicy {
                max_pending: deps.settings.overload.max_pending_replies,
                max_age: chrono::Duration::seconds(
                    i64::try_from(deps.settings.overload.max_mention_age_secs).unwrap_or(i64::MAX),
                ),
            },
            deps,
        })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<ConversationMsg>,
        state: &mut ConversationState,
    ) -> Result<(), ActorProcessingErr> {
        // An answer being sent right now still gets logged; queued triggers are dropped.
        if let Some(running) = state.running.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(20), running).await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<ConversationMsg>,
        msg: ConversationMsg,
        state: &mut ConversationState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ConversationMsg::Event(event) => match *event {
                // Deleted before it arrived: nothing left to log or answer.
                ChannelEvent::Message { incoming, .. } | ChannelEvent::Backfilled { incoming }
                    if state.deps.store.was_deleted(incoming.message.id) =>
                {
                    tracing::debug!(id = %incoming.message.id, "message already deleted");
                }
                ChannelEvent::Message { bot, incoming } => state.on_message(bot, incoming).await,
                ChannelEvent::Backfilled { incoming } => {
                    state.log(&incoming).await;
                }
                ChannelEvent::Proactive { bot, last, kind } => state.on_proactive(bot, last, kind),
                ChannelEvent::Edited {
                    id,
                    content,
                    edited_at,
                    ..
                } => {
                    state.deps.store.edit_message(id, content, edited_at).await;
                }
                ChannelEvent::Deleted { ids, .. } => state.on_deleted(&ids).await,
            },
            ConversationMsg::PolicyChanged => state.policy = None,
            ConversationMsg::StopIfIdle(reply) => {
                let idle = state.running.is_none() && state.queue.is_empty();
                let _ = reply.send(idle);
                if idle {
                    me.stop(Some("idle".to_owned()));
                }
                return Ok(());
            }
            ConversationMsg::ReplyFinished { answered, notice } => {
                state.running = None;
                if answered.is_some() {
                    crate::telemetry::metrics::reply_sent();
                }
                state.memory.said(answered, notice);
            }
        }
        state.start_next(&me);
        Ok(())
    }
}

impl ConversationState {
    /// Whether the bot speaks here: read from the store on the first message and after a
    /// `/bot` change, then kept (a failed read is not kept, so the next message retries).
    async fn policy(&mut self, incoming: &IncomingMessage) -> ChannelPolicy {
        if let Some(policy) = &self.policy {
            return policy.clone();
        }
        let default = ChannelPolicy {
            bot_enabled: self.deps.settings.bot.enabled_by_default,
            ..ChannelPolicy::default()
        };
        match self
            .deps
            .store
            .channel_policy(incoming.message.guild_id, self.channel, default.clone())
            .await
        {
            Ok(policy) => self.policy.insert(policy).clone(),
            Err(error) => {
                tracing::warn!(%error, "could not read channel settings; assuming defaults");
                default
            }
        }
    }

    /// Logs a message unless the bot is off here and told not to log; returns the policy.
    async fn log(&mut self, incoming: &IncomingMessage) -> ChannelPolicy {
        let policy = self.policy(incoming).await;
        let settings = &self.deps.settings;
        let message = &incoming.message;
        if policy.bot_enabled || settings.bot.log_when_disabled {
            self.deps.store.append_message(message.clone()).await;
            self.deps
                .store
                .seen_member(MemberSighting {
                    user: message.author_id,
                    username: incoming.author_username.clone(),
                    is_bot: message.is_bot,
                    guild: message.guild_id,
                    display_name: incoming.author_display.clone(),
                    seen_at: message.created_at,
                })
                .await;
        }
        policy
    }

    /// The bot as it speaks here: the persona's name in this server, not the account's.
    fn speaking_as(&self, bot: BotIdentity, policy: &ChannelPolicy) -> BotIdentity {
        let name = policy
            .persona_name
            .clone()
            .unwrap_or_else(|| self.deps.settings.bot.name.clone());
        BotIdentity { id: bot.id, name }
    }

    async fn on_message(&mut self, account: BotIdentity, incoming: IncomingMessage) {
        let policy = self.log(&incoming).await;
        let bot = self.speaking_as(account.clone(), &policy);
        let settings = &self.deps.settings;
        let message = &incoming.message;
        let from_bot_itself = message.author_id == bot.id;
        let last_answer = self.memory.heard(from_bot_itself);
        if !policy.bot_enabled || from_bot_itself {
            return;
        }
        let nickname = message
            .guild_id
            .and_then(|guild| self.deps.speaking.chat.own_nickname(guild));
        let aliases = settings
            .bot
            .aliases
            .iter()
            .cloned()
            .chain([settings.bot.name.clone(), account.name.clone()])
            .chain(nickname)
            .collect::<Vec<_>>();
        let input = TriggerInput {
            bot_id: bot.id,
            bot_name: &bot.name,
            aliases: &aliases,
            message: &incoming,
            reply_to_bots: settings.bot.reply_to_bots,
            last_answer,
            follow_up_window: chrono::Duration::seconds(
                i64::try_from(settings.bot.followup_window_secs).unwrap_or(i64::MAX),
            ),
            now: message.created_at,
        };
        let decision = trigger::decide(&input);
        crate::telemetry::metrics::triggered(&decision);
        let user = message.author_id;
        let arrival = Arrival {
            trigger: decision,
            judge_ambiguous: settings.bot.ambiguous_judgement,
            model: self.deps.speaking.llm.health(),
            told_trouble: self.memory.told_trouble(),
            rate_notice: settings.bot.rate_limit_notice,
            told_limited: self.memory.told_limited(user),
        };
        let limits = &self.deps.limits;
        let admission = plan::admit(&arrival, || limits.allow(user, self.channel));
        self.memory.admitted(user, admission);
        match admission {
            Admission::Ignore => {}
            Admission::Answer(reason) => {
                self.enqueue(ReplyJob::Answer {
                    bot,
                    trigger: incoming,
                    reason,
                });
            }
            Admission::TellLimited => {
                tracing::info!(%user, channel = %self.channel, "reply rate limit hit; telling them once");
                self.enqueue(ReplyJob::RateLimited {
                    bot,
                    trigger: incoming,
                });
            }
            Admission::Quiet => {
                tracing::debug!(%user, channel = %self.channel, "reply rate limit hit; staying quiet");
            }
        }
    }

    /// Forgets deleted messages, and drops queued answers to them (nobody is left to answer;
    /// one already running goes on).
    async fn on_deleted(&mut self, ids: &[MessageId]) {
        self.deps.store.delete_messages(ids).await;
        self.queue.retain(|job| match job {
            ReplyJob::Answer { trigger, .. } | ReplyJob::RateLimited { trigger, .. } => {
                !ids.contains(&trigger.message.id)
            }
            ReplyJob::Proactive { .. } => true,
        });
    }

    /// Queued like a reply, so it never interleaves with one; dropped when the bot has
    /// spoken here since the scheduler looked (never right after its own message).
    fn on_proactive(&mut self, bot: BotIdentity, last: LoggedMessage, kind: ProactiveKind) {
        if self.memory.bot_spoke_last() || self.running.is_some() || !self.queue.is_empty() {
            tracing::debug!(channel = %self.channel, "proactive message dropped: the bot is already talking here");
            return;
        }
        self.queue
            .push_back(ReplyJob::Proactive { bot, last, kind });
    }

    /// Queues a reply: merged with the member's waiting one, else at the end (dropping the
    /// oldest when the queue is full).
    fn enqueue(&mut self, job: ReplyJob) {
        let waiting: Vec<_> = self.queue.iter().map(ReplyJob::asker).collect();
        match self.backlog.place(&waiting, job.asker()) {
            Placement::Merge(at) => self.queue[at].merge_newer(job),
            Placement::Append { evict_oldest } => {
                if evict_oldest && let Some(dropped) = self.queue.pop_front() {
                    tracing::info!(channel = %self.channel, message = ?dropped.trigger().map(|m| m.id), "reply queue full; oldest dropped");
                }
                self.queue.push_back(job);
            }
        }
    }

    /// The next job worth starting: not for a mention gone stale while it waited, and no
    /// answer while the model refuses calls and this channel already heard why.
    fn next_job(&mut self) -> Option<ReplyJob> {
        let now = Utc::now();
        let health = self.deps.speaking.llm.health();
        while let Some(job) = self.queue.pop_front() {
            if let Some(m) = job.trigger()
                && self.backlog.is_stale(m.created_at, now)
            {
                tracing::info!(message = %m.id, sent = %m.created_at, "mention too old to answer now");
                continue;
            }
            if matches!(job, ReplyJob::Answer { .. })
                && !worth_queueing(health, self.memory.told_trouble())
            {
                tracing::debug!(channel = %self.channel, "model unavailable; queued mention dropped");
                continue;
            }
            return Some(job);
        }
        None
    }

    fn start_next(&mut self, me: &ActorRef<ConversationMsg>) {
        if self.running.is_some() {
            return;
        }
        let Some(job) = self.next_job() else {
            return;
        };
        let told_trouble = self.memory.told_trouble();
        let deps = self.deps.speaking.clone();
        let me = me.clone();
        let deadline = reply_deadline(&deps.settings);
        let span = job.span();
        self.running = Some(tokio::spawn(
            async move {
                let outcome = match tokio::time::timeout(
                    deadline,
                    reply::run(&deps, job, told_trouble),
                )
                .await
                {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        tracing::warn!(?deadline, "a reply took too long and was abandoned");
                        reply::Outcome::default()
                    }
                };
                // The channel is free as soon as the answer is out; the judgement runs after.
                let _ = me.cast(ConversationMsg::ReplyFinished {
                    answered: outcome.answered,
                    notice: outcome.notice,
                });
                if let Some(after) = outcome.after {
                    after.run(&deps).await;
                }
            }
            .instrument(span),
        ));
    }
}

/// The longest a reply job may hold its channel: the model's own deadline (all retries)
/// plus time for Discord and the store.
fn reply_deadline(settings: &Settings) -> std::time::Duration {
    let attempts = u32::try_from(settings.llm.max_retries)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    std::time::Duration::from_secs(settings.llm.request_timeout_secs)
        .saturating_mul(attempts.saturating_mul(2))
        + std::time::Duration::from_secs(30)
}
