//! The two quick judgements around a reply, each one small model call through the budget
//! gate: before it, whether an ambiguous message was meant for the bot; after it (once the
//! channel is free), how the exchange moves the member's relationship metrics. Neither
//! holds a reply: the first only runs for messages that may get none, the second after the
//! answer is out, and its new metrics are cast to the store's write lane.

use super::speaking::SpeakingDeps;
use crate::domain::relationship::{apply_judgement, parse_relationship_judgement};
use crate::domain::spend::Charge;
use crate::domain::trigger::judged_addressed;
use crate::domain::{BotIdentity, IncomingMessage, ServerMember};
use crate::ports::CompletionRequest;
use crate::prompts;
use chrono::Utc;

/// Moves the relationship metrics a small, clamped step from a structured judgement.
pub async fn relationship(
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
pub async fn addressed(deps: &SpeakingDeps, bot: &BotIdentity, incoming: &IncomingMessage) -> bool {
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
        Ok(raw) => judged_addressed(&raw, deps.settings.bot.ambiguous_threshold),
        Err(_) => false,
    }
}
