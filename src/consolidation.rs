//! Nightly consolidation: each member's short-term messages become long-term facts, then
//! move to the archive.
//!
//! Crash safety comes from the unit of work: for one member, the fact changes and the
//! archiving of the messages they were drawn from commit in one transaction. A run killed
//! at any point leaves every member either fully consolidated or untouched, and the next
//! run (which resumes the unfinished run's cutoff) picks up the untouched ones. Messages
//! that arrive during a run are newer than its cutoff and wait for the next one.

use crate::actors::store::{StoreCallError, StoreHandle};
use crate::config::Settings;
use crate::domain::memory::{
    Candidate, ExtractedFact, MergeDecision, MergeThresholds, MergeVerdict, StoredFactView,
    classify, parse_extracted_facts, parse_merge_judgement,
};
use crate::domain::{LoggedMessage, MemoryFact, MessageId, NewFact, UserId};
use crate::llm::{CompletionRequest, LanguageModel};
use crate::prompts;
use crate::store::{RunStats, StoreError, facts, messages};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::TransactionTrait;
use std::sync::Arc;

/// Members processed at the same time (their model calls overlap).
const CONCURRENT_USERS: usize = 4;
/// Bot and leftover messages archived per statement batch.
const SWEEP_BATCH: u64 = 5_000;

pub struct ConsolidationDeps {
    pub store: StoreHandle,
    pub llm: Arc<dyn LanguageModel>,
    pub settings: Arc<Settings>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub run_id: i64,
    pub cutoff: DateTime<Utc>,
    pub users_done: u32,
    pub users_skipped: u32,
    pub llm_calls: u32,
    pub facts_added: u32,
    pub facts_bumped: u32,
    pub facts_superseded: u32,
    pub messages_archived: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsolidationError {
    #[error(transparent)]
    Store(#[from] StoreCallError),
}

/// One change to a member's facts, decided before the transaction opens.
#[derive(Clone, Debug)]
enum FactChange {
    Add(NewFact),
    Bump(i64),
    Supersede { old: i64, new: NewFact },
}

#[derive(Default)]
struct UserOutcome {
    done: bool,
    llm_calls: u32,
    added: u32,
    bumped: u32,
    superseded: u32,
    archived: u64,
}

/// Runs one consolidation at `now` (resuming an unfinished run's cutoff if there is one).
pub async fn run_once(
    deps: &ConsolidationDeps,
    now: DateTime<Utc>,
) -> Result<RunReport, ConsolidationError> {
    let store = &deps.store;
    let (run_id, cutoff) = match store
        .read(|s| async move { s.unfinished_run().await })
        .await?
    {
        Some((id, cutoff)) => {
            tracing::info!(run = id, %cutoff, "resuming an unfinished consolidation run");
            (id, cutoff)
        }
        None => (
            store
                .write(move |s| async move { s.start_run(now, now).await })
                .await?,
            now,
        ),
    };
    let mut report = RunReport {
        run_id,
        cutoff,
        ..RunReport::default()
    };
    if deps.llm.embedding_model().is_none() {
        tracing::info!("no embedding model configured: matching facts by lexical similarity");
    }
    let users = store
        .read(move |s| async move { s.short_term_authors_before(cutoff).await })
        .await?;
    let mut outcomes = futures::stream::iter(users)
        .map(|user| consolidate_user(deps, user, cutoff, now))
        .buffer_unordered(CONCURRENT_USERS);
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok(o) => {
                report.users_done += u32::from(o.done);
                report.users_skipped += u32::from(!o.done);
                report.llm_calls += o.llm_calls;
                report.facts_added += o.added;
                report.facts_bumped += o.bumped;
                report.facts_superseded += o.superseded;
                report.messages_archived += o.archived;
            }
            Err(error) => {
                report.users_skipped += 1;
                tracing::warn!(%error, "a member's consolidation failed; their messages stay for the next run");
            }
        }
    }
    drop(outcomes);
    report.messages_archived += sweep_bot_messages(deps, cutoff, now).await?;
    let stats = RunStats {
        users_done: u64::from(report.users_done),
        facts_added: u64::from(report.facts_added),
        facts_bumped: u64::from(report.facts_bumped),
        messages_archived: report.messages_archived,
    };
    store
        .write(move |s| async move { s.finish_run(run_id, Utc::now(), stats).await })
        .await?;
    tracing::info!(?report, "consolidation finished");
    Ok(report)
}

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

async fn consolidate_user(
    deps: &ConsolidationDeps,
    user: UserId,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<UserOutcome, ConsolidationError> {
    let store = &deps.store;
    let messages = store
        .read(move |s| async move { s.short_term_of_user_before(user, cutoff).await })
        .await?;
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    let mut outcome = UserOutcome::default();
    if messages.is_empty() {
        outcome.done = true;
        return Ok(outcome);
    }
    let changes = if worth_extracting(&messages) {
        outcome.llm_calls += 1;
        match extract_changes(deps, user, &messages, &mut outcome).await {
            Ok(changes) => changes,
            Err(reason) => {
                let oldest = messages.first().map(|m| m.created_at).unwrap_or(now);
                let cap = chrono::Duration::days(i64::from(deps.settings.memory.max_pending_days));
                if now - oldest < cap {
                    tracing::warn!(%user, %reason, "fact extraction failed; messages stay for the next run");
                    return Ok(outcome);
                }
                tracing::warn!(%user, %reason, "fact extraction keeps failing; archiving past the age cap anyway");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    for change in &changes {
        match change {
            FactChange::Add(_) => outcome.added += 1,
            FactChange::Bump(_) => outcome.bumped += 1,
            FactChange::Supersede { .. } => outcome.superseded += 1,
        }
    }
    let model = deps.llm.embedding_model();
    outcome.archived = store
        .write(move |s| async move {
            let tx = s.writer().begin().await?;
            for change in &changes {
                match change {
                    FactChange::Add(new) => {
                        facts::insert_fact(&tx, new, model.as_deref(), now).await?;
                    }
                    FactChange::Bump(id) => {
                        facts::bump_fact(&tx, *id, model.as_deref(), now).await?;
                    }
                    FactChange::Supersede { old, new } => {
                        facts::supersede_fact(&tx, *old, new, model.as_deref(), now).await?;
                    }
                }
            }
            let archived = messages::archive_messages(&tx, &ids, now).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(archived)
        })
        .await?;
    outcome.done = true;
    Ok(outcome)
}

/// Asks the model for facts, embeds them, and decides per fact: add, bump or supersede.
async fn extract_changes(
    deps: &ConsolidationDeps,
    user: UserId,
    messages: &[LoggedMessage],
    outcome: &mut UserOutcome,
) -> Result<Vec<FactChange>, String> {
    let day = messages
        .last()
        .map(|m| m.created_at.date_naive())
        .unwrap_or_else(|| Utc::now().date_naive());
    let name = messages
        .last()
        .map(|m| m.author_name.clone())
        .unwrap_or_default();
    let turns = prompts::fact_extraction(&name, user, day, messages);
    let raw = deps
        .llm
        .complete(CompletionRequest::judge(turns).with_max_tokens(800))
        .await
        .map_err(|e| e.to_string())?;
    let extracted: Vec<ExtractedFact> =
        parse_extracted_facts(&raw, day).map_err(|e| e.to_string())?;
    if extracted.is_empty() {
        return Ok(Vec::new());
    }
    let stored: Vec<MemoryFact> = deps
        .store
        .read(move |s| async move { s.facts_of_user(user, false).await })
        .await
        .map_err(|e| e.to_string())?;
    let texts: Vec<String> = extracted.iter().map(|f| f.fact.clone()).collect();
    let vectors = deps.llm.embed(&texts).await.map_err(|e| e.to_string())?;
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
    let mut changes = Vec::new();
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
            user_id: user,
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
                outcome.llm_calls += 1;
                match judge_merge(deps, &old_text, &fact.fact).await {
                    MergeVerdict::Duplicate => FactChange::Bump(id),
                    MergeVerdict::Contradiction => FactChange::Supersede { old: id, new },
                    MergeVerdict::New => FactChange::Add(new),
                }
            }
        };
        // A fact first seen in this run has no id yet: give it a temporary negative one so
        // later duplicates in the same run bump the pending addition instead of adding twice.
        match &change {
            FactChange::Add(new) | FactChange::Supersede { new, .. } => {
                let temp = -(i64::try_from(changes.len()).unwrap_or(0) + 1);
                known.push((temp, new.fact.clone(), new.embedding.clone()));
            }
            FactChange::Bump(_) => {}
        }
        changes.push(change);
    }
    Ok(resolve_pending_bumps(changes))
}

/// Bumps of facts added earlier in the same run become nothing: the addition already
/// counts as the first mention.
fn resolve_pending_bumps(changes: Vec<FactChange>) -> Vec<FactChange> {
    changes
        .into_iter()
        .filter_map(|c| match c {
            FactChange::Bump(id) if id < 0 => None,
            // Contradicting a fact that is itself new tonight: keep the newer one as well.
            FactChange::Supersede { old, new } if old < 0 => Some(FactChange::Add(new)),
            other => Some(other),
        })
        .collect()
}

async fn judge_merge(deps: &ConsolidationDeps, old: &str, new: &str) -> MergeVerdict {
    let turns = prompts::merge_judgement(old, new);
    match deps.llm.complete(CompletionRequest::judge(turns)).await {
        Ok(raw) => parse_merge_judgement(&raw).unwrap_or(MergeVerdict::New),
        Err(error) => {
            tracing::debug!(%error, "merge judgement unavailable; keeping both facts");
            MergeVerdict::New
        }
    }
}

/// Archives what no member consolidation takes: the bot's and other bots' messages.
async fn sweep_bot_messages(
    deps: &ConsolidationDeps,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, ConsolidationError> {
    let moved = deps
        .store
        .write(move |s| async move {
            let mut total = 0;
            loop {
                let batch =
                    messages::short_term_before(s.writer(), cutoff, SWEEP_BATCH, messages::Authors::Bots).await?;
                if batch.is_empty() {
                    break;
                }
                let ids: Vec<MessageId> = batch.iter().map(|m| m.id).collect();
                let tx = s.writer().begin().await?;
                total += messages::archive_messages(&tx, &ids, now).await?;
                tx.commit().await?;
            }
            Ok::<_, StoreError>(total)
        })
        .await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_bumps_collapse_into_the_addition() {
        let new = NewFact {
            user_id: UserId(1),
            fact: "likes tea".into(),
            category: "preference".into(),
            embedding: None,
        };
        let changes = vec![
            FactChange::Add(new),
            FactChange::Bump(-1),
            FactChange::Bump(7),
        ];
        let resolved = resolve_pending_bumps(changes);
        assert_eq!(resolved.len(), 2);
        assert!(matches!(resolved[1], FactChange::Bump(7)));
    }
}
