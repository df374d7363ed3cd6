//! The reply step: from a trigger to messages in the channel. Runs outside any actor's
//! mailbox (the ConversationActor spawns it), reads everything from the store at this very
//! moment, and decides what to say when the model fails.

use super::budget::Gate;
use super::speaking::{Delivery, SpeakingDeps, announce_spent, deliver, emote_catalog, polish};
use crate::config::OnLlmFailure;
use crate::domain::backlog::should_apologise;
use crate::domain::budget;
use crate::domain::leak::{LeakGuard, find_leak};
use crate::domain::memory::rank_facts;
use crate::domain::model_server;
use crate::domain::mood::Mood;
use crate::domain::relationship::{apply_judgement, parse_relationship_judgement};
use crate::domain::spend::{Charge, SpendScope};
use crate::domain::trigger::{TriggerReason, parse_addressed_judgement};
use crate::domain::{
    BotIdentity, IncomingMessage, LoggedMessage, MessageId, ProactiveKind, ServerMember, UserId,
};
use crate::ports::store::StoreError;
use crate::ports::{ChatError, CompletionRequest, LlmError};
use crate::prompts;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// Why the bot answers: sure, or only if a quick judgement says it was addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressed {
    Surely(TriggerReason),
    Maybe,
}

pub enum ReplyJob {
    Answer {
        bot: BotIdentity,
        trigger: IncomingMessage,
        reason: Addressed,
    },
    RateLimited {
        bot: BotIdentity,
        trigger: IncomingMessage,
    },
    /// Speak up unprompted (the proactive scheduler's decision).
    Proactive {
        bot: BotIdentity,
        last: LoggedMessage,
        kind: ProactiveKind,
    },
}

impl ReplyJob {
    /// The member who waits for this job, for merging their mentions (`None` for a
    /// proactive message or a rate-limit notice, which are never merged).
    pub fn asker(&self) -> Option<UserId> {
        match self {
            ReplyJob::Answer { trigger, .. } => Some(trigger.message.author_id),
            ReplyJob::RateLimited { .. } | ReplyJob::Proactive { .. } => None,
        }
    }

    /// The message this job answers (for its age).
    pub fn trigger(&self) -> Option<&LoggedMessage> {
        match self {
            ReplyJob::Answer { trigger, .. } | ReplyJob::RateLimited { trigger, .. } => {
                Some(&trigger.message)
            }
            ReplyJob::Proactive { .. } => None,
        }
    }

    /// This member's newer mention takes the place of the waiting one: the newest message
    /// is answered (the earlier ones are in the transcript), as surely as either was meant.
    pub fn merge_newer(&mut self, newer: ReplyJob) {
        let surely = match self {
            ReplyJob::Answer {
                reason: Addressed::Surely(reason),
                ..
            } => Some(*reason),
            _ => None,
        };
        *self = newer;
        if let (Some(reason), ReplyJob::Answer { reason: r, .. }) = (surely, self)
            && *r == Addressed::Maybe
        {
            *r = Addressed::Surely(reason);
        }
    }

    /// A span naming the server, channel and message, so one message can be followed
    /// through the logs from the gateway to the reply.
    pub fn span(&self) -> tracing::Span {
        let (kind, message) = match self {
            ReplyJob::Answer { trigger, .. } => ("answer", &trigger.message),
            ReplyJob::RateLimited { trigger, .. } => ("rate_limited", &trigger.message),
            ReplyJob::Proactive { last, .. } => ("proactive", last),
        };
        tracing::info_span!(
            "reply",
            kind,
            guild = message.guild_id.map(|g| g.0),
            channel = %message.channel_id,
            message = %message.id,
        )
    }
}

/// What a finished job leaves behind.
#[derive(Default)]
pub struct Outcome {
    /// The member the bot just spoke to, and when.
    pub answered: Option<(UserId, DateTime<Utc>)>,
    /// Work to do once the channel is free again (the relationship judgement).
    pub after: Option<AfterAnswer>,
    /// The "having trouble" line was said, in the outage named by this `recoveries` count.
    pub apologised: Option<u64>,
}

/// The exchange to judge for the relationship metrics, after the reply went out.
pub struct AfterAnswer {
    bot: BotIdentity,
    trigger: IncomingMessage,
    reply: String,
}

impl AfterAnswer {
    pub async fn run(self, deps: &SpeakingDeps) {
        judge_relationship(deps, &self.bot, &self.trigger, &self.reply).await;
    }
}

/// Runs one job up to sending; the relationship judgement is returned for later, so the
/// channel's next reply does not wait for it. `told_trouble` is when this channel last said
/// the "having trouble" line (the model's `recoveries` count then), so an outage gets it once.
pub async fn run(deps: &SpeakingDeps, job: ReplyJob, told_trouble: Option<u64>) -> Outcome {
    match job {
        ReplyJob::Answer {
            bot,
            trigger,
            reason,
        } => {
            if reason == Addressed::Maybe && !judge_addressed(deps, &bot, &trigger).await {
                return Outcome::default();
            }
            tracing::debug!(?reason, message = %trigger.message.id, "replying");
            answer(deps, bot, trigger, told_trouble).await
        }
        ReplyJob::Proactive { bot, last, kind } => {
            if let Err(reason) = super::proactive::speak(deps, &bot, &last, kind, Utc::now()).await
            {
                tracing::warn!(channel = %last.channel_id, %reason, "proactive message not sent");
            }
            Outcome::default()
        }
        ReplyJob::RateLimited { bot, trigger } => {
            let line = deps.settings.bot.rate_limited_line.clone();
            let sent = send_text(deps, &trigger.message, &bot, &line).await;
            Outcome {
                answered: sent.ok().map(|at| (trigger.message.author_id, at)),
                ..Outcome::default()
            }
        }
    }
}

async fn answer(
    deps: &SpeakingDeps,
    bot: BotIdentity,
    trigger: IncomingMessage,
    told_trouble: Option<u64>,
) -> Outcome {
    let message = &trigger.message;
    let composed = {
        let _typing = deps.chat.start_typing(message.channel_id);
        compose(deps, &bot, &trigger).await
    };
    let text = match composed {
        Ok(text) => text,
        Err(ComposeError::Spent {
            scope,
            first_notice,
        }) => {
            // Token budget gate (issue 12): the first refusal of the day says so, once.
            let answered = announce_spent(deps, &bot, message, scope, first_notice).await;
            return Outcome {
                answered,
                ..Outcome::default()
            };
        }
        Err(error) => return failed(deps, &bot, message, &error, told_trouble).await,
    };
    if text.trim().is_empty() {
        // A withheld reply with no leak_line configured: say nothing.
        return Outcome::default();
    }
    let Ok(at) = send_text(deps, message, &bot, &text).await else {
        return Outcome::default();
    };
    let answered = Some((message.author_id, at));
    let after = deps
        .settings
        .bot
        .relationship_judgement
        .then_some(AfterAnswer {
            bot,
            trigger,
            reply: text,
        });
    Outcome {
        answered,
        after,
        apologised: None,
    }
}

/// A reply the model could not write: the "having trouble" line, unless the settings say
/// silence or this channel already heard it in this outage.
async fn failed(
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    message: &LoggedMessage,
    error: &ComposeError,
    told_trouble: Option<u64>,
) -> Outcome {
    if matches!(error, ComposeError::Llm(LlmError::Unavailable { .. })) {
        tracing::debug!(%error, message = %message.id, "no reply: the model is unavailable");
    } else {
        tracing::warn!(%error, message = %message.id, "could not produce a reply");
    }
    let health = deps.llm.health();
    if deps.settings.bot.on_llm_failure == OnLlmFailure::Silent
        || !should_apologise(health, told_trouble)
    {
        return Outcome::default();
    }
    let line = deps.settings.bot.failure_line.clone();
    let sent = send_text(deps, message, bot, &line).await;
    Outcome {
        answered: sent.ok().map(|at| (message.author_id, at)),
        after: None,
        apologised: Some(health.recoveries),
    }
}

#[derive(Debug, thiserror::Error)]
enum ComposeError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("prompt: {0}")]
    Prompt(#[from] prompts::PromptError),
    #[error("model: {0}")]
    Llm(#[from] crate::ports::LlmError),
    #[error("today's {} token budget is spent", .scope.kind())]
    Spent {
        scope: SpendScope,
        first_notice: bool,
    },
}

async fn compose(
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    trigger: &IncomingMessage,
) -> Result<String, ComposeError> {
    let settings = &deps.settings.bot;
    let message = &trigger.message;
    let now = Utc::now();
    let since = now - chrono::Duration::hours(i64::from(settings.transcript_hours));
    let inputs = deps
        .store
        .reply_inputs(
            message.channel_id,
            ServerMember::of(message.guild_id, message.author_id),
            since,
            settings.transcript_max_messages,
        )
        .await?;
    let charge = Charge::member(message.guild_id, message.author_id);
    if let Gate::Closed {
        scope,
        first_notice,
    } = deps.budget.verdict(charge, &inputs.spend)
    {
        return Err(ComposeError::Spent {
            scope,
            first_notice,
        });
    }
    let catalog = emote_catalog(deps.chat.as_ref(), message.guild_id).await;
    let keep = reply_chain(&inputs.transcript, message);
    let facts: Vec<_> = rank_facts(&inputs.facts, now)
        .into_iter()
        .take(settings.max_facts_in_prompt)
        .cloned()
        .collect();
    let mood = Mood {
        values: inputs.mood,
    };
    let display_name = trigger
        .author_display
        .clone()
        .unwrap_or_else(|| trigger.author_username.clone());
    let server_name = message.guild_id.and_then(|g| deps.chat.server_name(g));
    let nickname = message.guild_id.and_then(|g| deps.chat.own_nickname(g));
    let context = prompts::ReplyContext {
        bot_name: &bot.name,
        persona: &inputs.persona,
        mood: mood.describe(),
        emote_names: catalog.prompt_names(40),
        server_name: server_name.as_deref(),
        nickname: nickname.as_deref(),
        transcript: &inputs.transcript,
        bot_id: bot.id,
        user: prompts::UserProfile {
            display_name: &display_name,
            known_names: inputs.known_names.iter().map(|n| n.name.clone()).collect(),
            facts: &facts,
            relationship: inputs.relationship,
        },
        trigger: message,
        reply_to: None,
        now,
    };
    // Sized to the server's window (its profile, found at the first call); a server that
    // still refuses the prompt as too long gets one retry sized from what it said.
    let configured = super::speaking::prompt_budget(settings);
    let answer_cap = deps.settings.llm.max_reply_tokens;
    let mut window = deps.llm.profile().map(|p| p.context_tokens);
    let mut retried = false;
    let (raw, turns) = loop {
        let budget = match window {
            Some(w) => model_server::budget_within(configured, w, answer_cap),
            None => configured,
        };
        let turns = prompts::reply_within(&context, &keep, &budget)?;
        tracing::debug!(
            prompt_tokens = budget::chat_tokens(&turns),
            "reply prompt built"
        );
        let request =
            CompletionRequest::chat(turns.clone()).spoken_by(&bot.name, settings.speech_chars());
        match deps.budget.call(deps.llm.as_ref(), charge, request).await {
            Err(error) if !retried => match error.context_overflow() {
                Some(overflow) => {
                    let sized_for = window.unwrap_or_else(|| {
                        u32::try_from(budget.total).unwrap_or(u32::MAX) + answer_cap
                    });
                    let next = model_server::window_after_overflow(overflow.window, sized_for);
                    tracing::warn!(
                        sized_for,
                        next,
                        "the model server refused the prompt as too long; retrying it smaller"
                    );
                    // One retry: the next refusal is a failure like any other.
                    retried = true;
                    window = Some(next);
                    continue;
                }
                None => return Err(error.into()),
            },
            result => break (result?, turns),
        }
    };
    let guard = LeakGuard {
        canaries: settings.canaries.clone(),
        min_words: settings.leak_min_words,
    };
    if let Some(leak) = find_leak(&raw, &turns, &guard) {
        tracing::warn!(?leak, message = %message.id, "reply withheld: it repeats the prompt");
        return Ok(settings.leak_line.clone());
    }
    Ok(polish(&catalog, &raw, &bot.name))
}

/// The trigger and the messages it replies to, which the budget must never drop.
fn reply_chain(transcript: &[LoggedMessage], trigger: &LoggedMessage) -> HashSet<MessageId> {
    let mut keep = HashSet::from([trigger.id]);
    let mut next = trigger.reply_to;
    while let Some(id) = next {
        if !keep.insert(id) {
            break;
        }
        next = transcript
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.reply_to);
    }
    keep
}

/// Sends an answer to `to`; returns when its last part was sent (Discord's clock).
async fn send_text(
    deps: &SpeakingDeps,
    to: &LoggedMessage,
    bot: &BotIdentity,
    text: &str,
) -> Result<DateTime<Utc>, ChatError> {
    let target = Delivery {
        channel: to.channel_id,
        guild: to.guild_id,
        reply_to: Some(to),
    };
    let sent = deliver(deps.chat.as_ref(), deps.store.as_ref(), bot, target, text).await?;
    Ok(sent.last().map_or_else(Utc::now, |id| id.created_at()))
}

/// Moves the relationship metrics a small, clamped step from a structured judgement.
async fn judge_relationship(
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    trigger: &IncomingMessage,
    reply: &str,
) {
    let member = ServerMember::of(trigger.message.guild_id, trigger.message.author_id);
    let current = match deps.store.relationship(member).await {
        Ok(current) => current,
        Err(error) => {
            tracing::warn!(%error, "could not read relationship for judgement");
            return;
        }
    };
    let name = trigger
        .author_display
        .as_deref()
        .unwrap_or(&trigger.author_username);
    let turns =
        prompts::relationship_judgement(&bot.name, name, &trigger.message.content, reply, &current);
    let charge = Charge::member(trigger.message.guild_id, trigger.message.author_id);
    let request = CompletionRequest::judge(turns)
        .with_schema("relationship", prompts::schemas::relationship_judgement());
    let raw = match deps
        .budget
        .complete(deps.llm.as_ref(), charge, request)
        .await
    {
        Ok(raw) => raw,
        Err(error) => {
            tracing::debug!(%error, "relationship judgement unavailable");
            return;
        }
    };
    let Ok(judgement) = parse_relationship_judgement(&raw) else {
        tracing::debug!("relationship judgement was not valid JSON; metrics unchanged");
        return;
    };
    let (next, changes) =
        apply_judgement(current, &judgement, deps.settings.bot.relationship_max_step);
    if !changes.is_empty() {
        deps.store.save_relationship(member, next, changes).await;
    }
}

/// For ambiguous messages: a cheap judgement of whether the bot is being addressed.
async fn judge_addressed(
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    incoming: &IncomingMessage,
) -> bool {
    let channel = incoming.message.channel_id;
    let since = Utc::now() - chrono::Duration::minutes(30);
    let recent = deps
        .store
        .recent_messages(channel, since, 12)
        .await
        .unwrap_or_default();
    let turns = prompts::addressed_judgement(&bot.name, &recent, &incoming.message);
    let charge = Charge::member(incoming.message.guild_id, incoming.message.author_id);
    // A member may be waiting on it: it goes with the live replies.
    let request = CompletionRequest::judge(turns)
        .with_schema("addressed", prompts::schemas::addressed_judgement())
        .live();
    match deps
        .budget
        .complete(deps.llm.as_ref(), charge, request)
        .await
    {
        Ok(raw) => parse_addressed_judgement(&raw)
            .is_some_and(|p| p >= deps.settings.bot.ambiguous_threshold),
        Err(_) => false,
    }
}
