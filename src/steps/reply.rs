//! The reply step: carries one reply job out. Runs outside any actor's mailbox (the
//! ConversationActor spawns it), reads everything from the store at this very moment, and
//! does what `domain::plan` decides: a notice line, silence, or the model's answer.
//!
//! Between the model's answer and the send nothing waits on the store: the call's token
//! spend is cast to the write lane (`BudgetGate::call`), the sent parts go to the journal,
//! and the relationship judgement runs after the channel is free.

use super::speaking::{Delivery, SpeakingDeps, deliver, emote_catalog, polish, prompt_budget};
use crate::config::OnLlmFailure;
use crate::domain::budget;
use crate::domain::emotes::EmoteCatalog;
use crate::domain::leak::{LeakGuard, find_leak};
use crate::domain::memory::rank_facts;
use crate::domain::model_server;
use crate::domain::mood::Mood;
pub use crate::domain::plan::Addressed;
use crate::domain::plan::{self, Notice, Plan, ReplyCase};
use crate::domain::spend::Charge;
use crate::domain::{
    BotIdentity, ChatTurn, IncomingMessage, LoggedMessage, MessageId, ProactiveKind, ServerMember,
    UserId,
};
use crate::ports::store::ReplyInputs;
use crate::ports::{ChatError, CompletionRequest, LlmError};
use crate::prompts;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

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

/// What a finished job said, for the channel to remember (facts, not decisions).
#[derive(Default)]
pub struct Outcome {
    /// The member the bot just spoke to, and when.
    pub answered: Option<(UserId, DateTime<Utc>)>,
    /// The notice said instead of an answer.
    pub notice: Option<Notice>,
    /// Work to do once the channel is free again (the relationship judgement).
    pub after: Option<AfterAnswer>,
}

/// The exchange to judge for the relationship metrics, after the reply went out.
pub struct AfterAnswer {
    bot: BotIdentity,
    trigger: IncomingMessage,
    reply: String,
}

impl AfterAnswer {
    pub async fn run(self, deps: &SpeakingDeps) {
        super::judgement::relationship(deps, &self.bot, &self.trigger, &self.reply).await;
    }
}

/// Runs one job up to sending; the relationship judgement is returned for later, so the
/// channel's next reply does not wait for it. `told_trouble` is when this channel last said
/// the trouble line (the model's `recoveries` count then), so an outage gets it once.
pub async fn run(deps: &SpeakingDeps, job: ReplyJob, told_trouble: Option<u64>) -> Outcome {
    match job {
        ReplyJob::Answer {
            bot,
            trigger,
            reason,
        } => {
            if reason == Addressed::Maybe
                && !super::judgement::addressed(deps, &bot, &trigger).await
            {
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
            say(deps, &bot, &trigger.message, Notice::RateLimited).await
        }
    }
}

/// Reads the inputs, plans, and carries the plan out: one store read, at most one model
/// call, then straight to the send.
async fn answer(
    deps: &SpeakingDeps,
    bot: BotIdentity,
    trigger: IncomingMessage,
    told_trouble: Option<u64>,
) -> Outcome {
    let message = &trigger.message;
    let typing = deps.chat.start_typing(message.channel_id);
    let mut case = ReplyCase {
        charge: Charge::member(message.guild_id, message.author_id),
        budgets: deps.budget.budgets(),
        spent: &[],
        model: deps.llm.health(),
        told_trouble,
        trouble_line: deps.settings.bot.on_llm_failure == OnLlmFailure::Line,
    };
    let inputs = match read_inputs(deps, message).await {
        Ok(inputs) => inputs,
        Err(error) => {
            tracing::warn!(%error, message = %message.id, "could not read the reply's inputs");
            drop(typing);
            return carry_out(deps, &bot, message, plan::failed(&case, deps.llm.health())).await;
        }
    };
    let catalog = emote_catalog(deps.chat.as_ref(), message.guild_id).await;
    case.spent = &inputs.spend;
    let now = Utc::now();
    let window = deps.llm.profile().map(|p| p.context_tokens);
    let planned = plan::plan(&case, || {
        reply_turns(deps, &bot, &trigger, &inputs, &catalog, now, window)
    });
    let Plan::Answer { mut turns, charge } = planned else {
        drop(typing);
        return carry_out(deps, &bot, message, planned).await;
    };
    let speech = deps.settings.bot.speech_chars();
    let mut called = deps
        .budget
        .call(
            deps.llm.as_ref(),
            charge,
            CompletionRequest::chat(turns.clone()).spoken_by(&bot.name, speech),
        )
        .await;
    // A server that refuses the prompt as too long gets one retry, sized from the window
    // it named (a second refusal is a failure like any other).
    if let Some(overflow) = called.as_ref().err().and_then(LlmError::context_overflow) {
        let sized_for = window.unwrap_or_else(|| {
            u32::try_from(prompt_budget(&deps.settings.bot).total).unwrap_or(u32::MAX)
                + deps.settings.llm.max_reply_tokens
        });
        let next = model_server::window_after_overflow(overflow.window, sized_for);
        tracing::warn!(
            sized_for,
            next,
            "the model server refused the prompt as too long; retrying it smaller"
        );
        if let Some(smaller) = reply_turns(deps, &bot, &trigger, &inputs, &catalog, now, Some(next))
        {
            turns = smaller;
            let request = CompletionRequest::chat(turns.clone()).spoken_by(&bot.name, speech);
            called = deps.budget.call(deps.llm.as_ref(), charge, request).await;
        }
    }
    let raw = match called {
        Ok(raw) => raw,
        Err(error) => {
            if matches!(error, LlmError::Unavailable { .. }) {
                tracing::debug!(%error, message = %message.id, "no reply: the model is unavailable");
            } else {
                tracing::warn!(%error, message = %message.id, "could not produce a reply");
            }
            drop(typing);
            return carry_out(deps, &bot, message, plan::failed(&case, deps.llm.health())).await;
        }
    };
    drop(typing);
    let text = finish(deps, &catalog, &raw, &turns, &bot, message);
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
        notice: None,
        after,
    }
}

/// Carries out a plan that needs no model call.
async fn carry_out(
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    to: &LoggedMessage,
    planned: Plan,
) -> Outcome {
    match planned {
        Plan::Notice(notice) => say(deps, bot, to, notice).await,
        Plan::Skip | Plan::Answer { .. } => Outcome::default(),
    }
}

/// Says a notice line in reply to `to`. The day's budget notice is said by the one reply
/// that claims it in the store (racing replies in other channels or processes stay quiet).
async fn say(
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    to: &LoggedMessage,
    notice: Notice,
) -> Outcome {
    let line = match notice {
        Notice::RateLimited => deps.settings.bot.rate_limited_line.clone(),
        Notice::Trouble { .. } => deps.settings.bot.failure_line.clone(),
        Notice::BudgetSpent(scope) => {
            tracing::debug!(scope = scope.kind(), message = %to.id, "token budget spent; not answering");
            if !deps.budget.claim_notice(scope, Utc::now()).await {
                return Outcome::default();
            }
            prompts::budget_spent_line(scope.kind(), &mut rand::rng())
        }
    };
    let sent = send_text(deps, to, bot, &line).await;
    Outcome {
        answered: sent.ok().map(|at| (to.author_id, at)),
        notice: Some(notice),
        after: None,
    }
}

/// The one store read of a reply.
async fn read_inputs(
    deps: &SpeakingDeps,
    message: &LoggedMessage,
) -> Result<ReplyInputs, crate::ports::store::StoreError> {
    let settings = &deps.settings.bot;
    let since = Utc::now() - chrono::Duration::hours(i64::from(settings.transcript_hours));
    deps.store
        .reply_inputs(
            message.channel_id,
            ServerMember::of(message.guild_id, message.author_id),
            since,
            settings.transcript_max_messages,
        )
        .await
}

/// The reply prompt (`None` when it cannot be rendered).
fn reply_turns(
    deps: &SpeakingDeps,
    bot: &BotIdentity,
    trigger: &IncomingMessage,
    inputs: &ReplyInputs,
    catalog: &EmoteCatalog,
    now: DateTime<Utc>,
    window: Option<u32>,
) -> Option<Vec<ChatTurn>> {
    let settings = &deps.settings.bot;
    let message = &trigger.message;
    let keep = reply_chain(&inputs.transcript, message);
    let facts: Vec<_> = rank_facts(&inputs.facts, now)
        .into_iter()
        .take(settings.max_facts_in_prompt)
        .cloned()
        .collect();
    let mood = Mood {
        values: inputs.mood.clone(),
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
    // Sized to the server's window (its profile: probed at start, or named by a refusal).
    let budget = match window {
        Some(window) => model_server::budget_within(
            prompt_budget(settings),
            window,
            deps.settings.llm.max_reply_tokens,
        ),
        None => prompt_budget(settings),
    };
    match prompts::reply_within(&context, &keep, &budget) {
        Ok(turns) => {
            tracing::debug!(
                prompt_tokens = budget::chat_tokens(&turns),
                "reply prompt built"
            );
            Some(turns)
        }
        Err(error) => {
            tracing::warn!(%error, message = %message.id, "could not build the reply prompt");
            None
        }
    }
}

/// The model's text as it is sent: withheld (the leak line) when it repeats the prompt,
/// else polished.
fn finish(
    deps: &SpeakingDeps,
    catalog: &EmoteCatalog,
    raw: &str,
    turns: &[ChatTurn],
    bot: &BotIdentity,
    message: &LoggedMessage,
) -> String {
    let settings = &deps.settings.bot;
    let guard = LeakGuard {
        canaries: settings.canaries.clone(),
        min_words: settings.leak_min_words,
    };
    if let Some(leak) = find_leak(raw, turns, &guard) {
        tracing::warn!(?leak, message = %message.id, "reply withheld: it repeats the prompt");
        return settings.leak_line.clone();
    }
    polish(catalog, raw, &bot.name)
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
        max_parts: deps.settings.bot.max_reply_messages,
    };
    let sent = deliver(deps.chat.as_ref(), deps.store.as_ref(), bot, target, text).await?;
    Ok(sent.last().map_or_else(Utc::now, |id| id.created_at()))
}
