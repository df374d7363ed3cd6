//! Preparing one member for consolidation: their day's messages become fact changes (add,
//! bump, supersede, re-embed), decided with the model outside any transaction.

use super::{ConsolidationDeps, ConsolidationError, Prep, Prepared};
use crate::domain::memory::{
    Candidate, ExtractedFact, MergeDecision, MergeThresholds, MergeVerdict, StoredFactView,
    classify, parse_extracted_facts, parse_merge_judgement, resolve_pending_bumps,
};
use crate::domain::spend::Charge;
use crate::domain::{FactChange, LoggedMessage, MemoryFact, MessageId, NewFact, ServerMember};
use crate::ports::CompletionRequest;
use crate::prompts;
use chrono::{DateTime, Utc};
use std::sync::atomic::Ordering;

/// Whether a day's messages could hold anything worth remembering (saves a model call
/// for members who only said "lol" and "ok").
fn worth_extracting(messages: &[LoggedMessage]) -> bool {
    messages.iter().any(|m| {
        m.content
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphabetic))
            .count()
            >= 3
    })
}

/// Reads a member's messages before the cutoff and decides their fact changes (the model
/// calls happen here, outside any transaction).
///
/// A member who turned memory off (or whose server did) is not read by the model at all:
/// their messages are marked to be deleted instead of archived.
pub(super) async fn prepare_member(
    deps: &ConsolidationDeps,
    member: ServerMember,
    remember: bool,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    llm_calls: &std::sync::atomic::AtomicU32,
) -> Result<Prep, ConsolidationError> {
    let messages = deps
        .store
        .short_term_of_member_before(member, cutoff)
        .await?;
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    if !remember || messages.is_empty() || !worth_extracting(&messages) {
        return Ok(Prep::Ready(Prepared {
            member,
            ids,
            remember,
            changes: Vec::new(),
        }));
    }
    let user = member.user;
    let mut calls = 1;
    let extracted = extract_changes(deps, member, &messages, &mut calls).await;
    llm_calls.fetch_add(calls, std::sync::atomic::Ordering::Relaxed);
    let changes = match extracted {
        Ok(changes) => changes,
        Err(reason) => {
            let oldest = messages.first().map(|m| m.created_at).unwrap_or(now);
            let cap = chrono::Duration::days(i64::from(deps.settings.memory.max_pending_days));
            if now - oldest < cap {
                tracing::warn!(%user, %reason, "fact extraction failed; messages stay for the next run");
                return Ok(Prep::Skipped);
            }
            tracing::warn!(%user, %reason, "fact extraction keeps failing; archiving past the age cap anyway");
            Vec::new()
        }
    };
    Ok(Prep::Ready(Prepared {
        member,
        ids,
        remember,
        changes,
    }))
}

/// Asks the model for facts, embeds them, and decides per fact: add, bump or supersede.
async fn extract_changes(
    deps: &ConsolidationDeps,
    member: ServerMember,
    messages: &[LoggedMessage],
    llm_calls: &mut u32,
) -> Result<Vec<FactChange>, String> {
    let day = messages
        .last()
        .map(|m| m.created_at.date_naive())
        .unwrap_or_else(|| Utc::now().date_naive());
    let name = messages
        .last()
        .map(|m| m.author_name.clone())
        .unwrap_or_default();
    let turns = prompts::fact_extraction(&name, member.user, day, messages);
    let charge = Charge::server(member.guild.as_server());
    let request = CompletionRequest::judge(turns)
        .with_max_tokens(800)
        .with_schema("facts", prompts::schemas::fact_extraction());
    let raw = deps
        .budget
        .complete(deps.llm.as_ref(), charge, request)
        .await
        .map_err(|e| e.to_string())?;
    let extracted: Vec<ExtractedFact> =
        parse_extracted_facts(&raw, day).map_err(|e| e.to_string())?;
    if extracted.is_empty() {
        return Ok(Vec::new());
    }
    // Stored vectors count only if the current model made them: vectors of two models are
    // not comparable. Facts without one are embedded in the same call and get it stored.
    let model = deps
        .llm
        .embedding_model()
        .filter(|_| !deps.embeddings_missing.load(Ordering::Relaxed));
    let mut stored: Vec<MemoryFact> = deps
        .store
        .current_facts(member, model.clone())
        .await
        .map_err(|e| e.to_string())?;
    let stale: Vec<usize> = if model.is_some() {
        (0..stored.len())
            .filter(|i| stored[*i].embedding.is_none())
            .collect()
    } else {
        Vec::new()
    };
    let mut texts: Vec<String> = extracted.iter().map(|f| f.fact.clone()).collect();
    texts.extend(stale.iter().map(|i| stored[*i].fact.clone()));
    let mut vectors = embed(deps, model.is_some(), &texts).await?;
    let mut changes = Vec::new();
    if let Some(all) = vectors.as_mut() {
        let fresh = all.split_off(extracted.len().min(all.len()));
        for (i, vector) in stale.iter().zip(fresh) {
            stored[*i].embedding = Some(vector.clone());
            changes.push(FactChange::Reembed {
                id: stored[*i].id,
                vector,
            });
        }
    }
    let use_embeddings = vectors.is_some();
    let thresholds = if use_embeddings {
        MergeThresholds {
            candidate: deps.settings.memory.candidate_threshold,
            duplicate: deps.settings.memory.duplicate_threshold,
        }
    } else {
        MergeThresholds::LEXICAL
    };
    // Facts decided earlier in this run count as stored, so one day's repeats merge too.
    let mut known: Vec<(i64, String, Option<Vec<f32>>)> = stored
        .iter()
        .map(|f| (f.id, f.fact.clone(), f.embedding.clone()))
        .collect();
    for (index, fact) in extracted.into_iter().enumerate() {
        let embedding = vectors.as_ref().and_then(|v| v.get(index).cloned());
        let views: Vec<StoredFactView<'_>> = known
            .iter()
            .map(|(id, text, emb)| StoredFactView {
                id: *id,
                text,
                embedding: emb.as_deref(),
            })
            .collect();
        let candidate = Candidate {
            text: &fact.fact,
            embedding: embedding.as_deref(),
        };
        let decision = classify(&candidate, &views, thresholds, use_embeddings);
        let new = NewFact {
            guild_id: member.guild,
            user_id: member.user,
            fact: fact.fact.clone(),
            category: fact.category.clone(),
            embedding: embedding.clone(),
        };
        let change = match decision {
            MergeDecision::New => FactChange::Add(new),
            MergeDecision::Duplicate { id, .. } => FactChange::Bump(id),
            MergeDecision::NeedsJudgement { id, .. } => {
                let old_text = known
                    .iter()
                    .find(|(k, _, _)| *k == id)
                    .map(|(_, t, _)| t.clone())
                    .unwrap_or_default();
                *llm_calls += 1;
                match judge_merge(deps, member, &old_text, &fact.fact).await {
                    MergeVerdict::Duplicate => FactChange::Bump(id),
                    MergeVerdict::Contradiction => FactChange::Supersede { old: id, new },
                    MergeVerdict::New => FactChange::Add(new),
                }
            }
        };
        // A fact first seen in this run has no id yet: give it a temporary negative one so
        // later duplicates in the same run bump the pending addition instead of adding twice.
        // A superseded fact is no longer current: a second contradiction of it must not
        // supersede it again (that failed the member's transaction on every run).
        match &change {
            FactChange::Add(new) | FactChange::Supersede { new, .. } => {
                if let FactChange::Supersede { old, .. } = &change {
                    known.retain(|(id, _, _)| id != old);
                }
                let temp = -(i64::try_from(changes.len()).unwrap_or(0) + 1);
                known.push((temp, new.fact.clone(), new.embedding.clone()));
            }
            FactChange::Bump(_) | FactChange::Reembed { .. } => {}
        }
        changes.push(change);
    }
    Ok(resolve_pending_bumps(changes))
}

/// Embeds texts; `Ok(None)` when there is no embedding model, or when the server does not
/// have the configured one (then, with one warning per run, facts are matched lexically
/// for the rest of the run instead of failing every member).
async fn embed(
    deps: &ConsolidationDeps,
    wanted: bool,
    texts: &[String],
) -> Result<Option<Vec<Vec<f32>>>, String> {
    if !wanted {
        return Ok(None);
    }
    match deps.llm.embed(texts).await {
        Ok(vectors) => Ok(vectors),
        Err(error) if error.is_model_missing() => {
            if !deps.embeddings_missing.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    model = deps.llm.embedding_model().unwrap_or_default(),
                    %error,
                    "the model server does not have the configured embedding model: matching \
                     facts by lexical similarity for this run (pull the model, or unset \
                     llm.embedding_model)"
                );
            }
            Ok(None)
        }
        Err(error) => Err(error.to_string()),
    }
}

async fn judge_merge(
    deps: &ConsolidationDeps,
    member: ServerMember,
    old: &str,
    new: &str,
) -> MergeVerdict {
    let turns = prompts::merge_judgement(old, new);
    let charge = Charge::server(member.guild.as_server());
    let request =
        CompletionRequest::judge(turns).with_schema("verdict", prompts::schemas::merge_judgement());
    match deps
        .budget
        .complete(deps.llm.as_ref(), charge, request)
        .await
    {
        Ok(raw) => parse_merge_judgement(&raw).unwrap_or(MergeVerdict::New),
        Err(error) => {
            tracing::debug!(%error, "merge judgement unavailable; keeping both facts");
            MergeVerdict::New
        }
    }
}
