//! Nightly consolidation: each member's short-term messages become long-term facts, then
//! move to the archive.
//!
//! Crash safety comes from the unit of work: for one member, the fact changes and the
//! archiving of the messages they were drawn from commit in one transaction. A run killed
//! at any point leaves every member either fully consolidated or untouched, and the next
//! run (which resumes the unfinished run's cutoff) picks up the untouched ones. Messages
//! that arrive during a run are newer than its cutoff and wait for the next one.
//!
//! Throughput: members are prepared (model calls) concurrently, and the members that are
//! ready are committed together, several per transaction (group commit). On SQLite a
//! member's messages are spread over many pages, so one transaction per member rewrote
//! most of those pages again for the next member (measured: 12.4 s for 100,000 messages
//! from 1,000 members; see `benches/consolidation.rs`). A group is still all-or-nothing,
//! so the crash-safety argument above is unchanged; a group that fails is retried member
//! by member so one bad member cannot hold the others back.

use crate::actors::store::{StoreCallError, StoreHandle};
use crate::config::Settings;
use crate::domain::memory::{
    Candidate, ExtractedFact, MergeDecision, MergeThresholds, MergeVerdict, StoredFactView,
    classify, parse_extracted_facts, parse_merge_judgement,
};
use crate::domain::{LoggedMessage, MemoryFact, MessageId, NewFact, UserId};
use crate::llm::{CompletionRequest, LanguageModel};
use crate::prompts;
use crate::store::{RunStats, StoreError, consolidation as runs, facts, messages};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::TransactionTrait;
use std::sync::Arc;

/// Members prepared at the same time (their model calls overlap).
const CONCURRENT_USERS: usize = 16;
/// Most members committed in one transaction.
const MAX_GROUP: usize = 64;
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
    /// Archived messages deleted for being older than the retention period.
    pub archive_purged: u64,
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
    Supersede {
        old: i64,
        new: NewFact,
    },
    /// A stored fact without a vector from the current embedding model gets one.
    Reembed {
        id: i64,
        vector: Vec<f32>,
    },
}

/// A member whose changes are decided and ready to commit.
#[derive(Clone, Debug)]
struct Prepared {
    user: UserId,
    ids: Vec<MessageId>,
    changes: Vec<FactChange>,
}

/// What preparing a member came to.
enum Prep {
    Ready(Prepared),
    /// Extraction failed (below the age cap): the messages stay for the next run.
    Skipped,
}

#[derive(Default)]
struct GroupOutcome {
    users_done: u32,
    users_failed: u32,
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
    let llm_calls = std::sync::atomic::AtomicU32::new(0);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Prepared>(MAX_GROUP);
    let mut skipped = 0u32;
    let prepare = async {
        let mut prepared = futures::stream::iter(users)
            .map(|user| prepare_user(deps, user, cutoff, now, &llm_calls))
            .buffer_unordered(CONCURRENT_USERS);
        while let Some(outcome) = prepared.next().await {
            match outcome {
                Ok(Prep::Ready(p)) => {
                    if ready_tx.send(p).await.is_err() {
                        break;
                    }
                }
                Ok(Prep::Skipped) => skipped += 1,
                Err(error) => {
                    skipped += 1;
                    tracing::warn!(%error, "a member's consolidation failed; their messages stay for the next run");
                }
            }
        }
        drop(ready_tx);
    };
    let commit = async {
        let mut totals = GroupOutcome::default();
        let mut group = Vec::with_capacity(MAX_GROUP);
        while ready_rx.recv_many(&mut group, MAX_GROUP).await > 0 {
            let outcome =
                commit_group(deps, run_id, std::mem::take(&mut group), &totals, now).await;
            totals.users_done += outcome.users_done;
            totals.users_failed += outcome.users_failed;
            totals.added += outcome.added;
            totals.bumped += outcome.bumped;
            totals.superseded += outcome.superseded;
            totals.archived += outcome.archived;
        }
        totals
    };
    let ((), totals) = tokio::join!(prepare, commit);
    report.users_done = totals.users_done;
    report.users_skipped = skipped + totals.users_failed;
    report.llm_calls = llm_calls.into_inner();
    report.facts_added = totals.added;
    report.facts_bumped = totals.bumped;
    report.facts_superseded = totals.superseded;
    report.messages_archived = totals.archived;
    report.messages_archived += sweep_bot_messages(deps, cutoff, now).await?;
    report.archive_purged = purge_expired_archive(deps, now).await?;
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

/// Reads a member's messages before the cutoff and decides their fact changes (the model
/// calls happen here, outside any transaction).
async fn prepare_user(
    deps: &ConsolidationDeps,
    user: UserId,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    llm_calls: &std::sync::atomic::AtomicU32,
) -> Result<Prep, ConsolidationError> {
    let messages = deps
        .store
        .read(move |s| async move { s.short_term_of_user_before(user, cutoff).await })
        .await?;
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    if messages.is_empty() || !worth_extracting(&messages) {
        return Ok(Prep::Ready(Prepared {
            user,
            ids,
            changes: Vec::new(),
        }));
    }
    let mut calls = 1;
    let extracted = extract_changes(deps, user, &messages, &mut calls).await;
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
    Ok(Prep::Ready(Prepared { user, ids, changes }))
}

/// Commits a group of members in one transaction (their fact changes, the archive move and
/// the run's progress). If the group fails, each member is retried on its own, so only the
/// member at fault keeps their messages for the next run.
async fn commit_group(
    deps: &ConsolidationDeps,
    run_id: i64,
    group: Vec<Prepared>,
    before: &GroupOutcome,
    now: DateTime<Utc>,
) -> GroupOutcome {
    match write_group(deps, run_id, group.clone(), before, now).await {
        Ok(outcome) => outcome,
        Err(error) if group.len() > 1 => {
            tracing::warn!(%error, members = group.len(), "a group commit failed; retrying member by member");
            let mut totals = GroupOutcome::default();
            for one in group {
                let user = one.user;
                let progress = GroupOutcome {
                    users_done: before.users_done + totals.users_done,
                    added: before.added + totals.added,
                    bumped: before.bumped + totals.bumped,
                    archived: before.archived + totals.archived,
                    ..GroupOutcome::default()
                };
                match write_group(deps, run_id, vec![one], &progress, now).await {
                    Ok(o) => {
                        totals.users_done += o.users_done;
                        totals.added += o.added;
                        totals.bumped += o.bumped;
                        totals.superseded += o.superseded;
                        totals.archived += o.archived;
                    }
                    Err(error) => {
                        totals.users_failed += 1;
                        tracing::warn!(%user, %error, "could not store a member's consolidation; their messages stay for the next run");
                    }
                }
            }
            totals
        }
        Err(error) => {
            let user = group.first().map(|p| p.user);
            tracing::warn!(?user, %error, "could not store a member's consolidation; their messages stay for the next run");
            GroupOutcome {
                users_failed: 1,
                ..GroupOutcome::default()
            }
        }
    }
}

async fn write_group(
    deps: &ConsolidationDeps,
    run_id: i64,
    group: Vec<Prepared>,
    before: &GroupOutcome,
    now: DateTime<Utc>,
) -> Result<GroupOutcome, ConsolidationError> {
    let mut outcome = GroupOutcome::default();
    for change in group.iter().flat_map(|p| &p.changes) {
        match change {
            FactChange::Add(_) => outcome.added += 1,
            FactChange::Bump(_) => outcome.bumped += 1,
            FactChange::Supersede { .. } => outcome.superseded += 1,
            FactChange::Reembed { .. } => {}
        }
    }
    outcome.users_done = u32::try_from(group.len()).unwrap_or(u32::MAX);
    let model = deps.llm.embedding_model();
    let mut progress = RunStats {
        users_done: u64::from(before.users_done + outcome.users_done),
        facts_added: u64::from(before.added + outcome.added),
        facts_bumped: u64::from(before.bumped + outcome.bumped),
        messages_archived: before.archived,
    };
    let ids: Vec<MessageId> = group.iter().flat_map(|p| p.ids.iter().copied()).collect();
    let changes: Vec<FactChange> = group.into_iter().flat_map(|p| p.changes).collect();
    outcome.archived = deps
        .store
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
                    FactChange::Reembed { id, vector } => {
                        if let Some(model) = model.as_deref() {
                            facts::set_fact_embedding(&tx, *id, model, vector).await?;
                        }
                    }
                }
            }
            let archived = messages::archive_messages(&tx, &ids, now).await?;
            progress.messages_archived += archived;
            runs::record_run_progress(&tx, run_id, progress).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(archived)
        })
        .await?;
    Ok(outcome)
}

/// Asks the model for facts, embeds them, and decides per fact: add, bump or supersede.
async fn extract_changes(
    deps: &ConsolidationDeps,
    user: UserId,
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
    // Stored vectors count only if the current model made them: vectors of two models are
    // not comparable. Facts without one are embedded in the same call and get it stored.
    let model = deps.llm.embedding_model();
    let read_model = model.clone();
    let mut stored: Vec<MemoryFact> = deps
        .store
        .read(move |s| async move {
            facts::facts_of_user(s.reader(), user, false, read_model.as_deref()).await
        })
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
    let mut vectors = deps.llm.embed(&texts).await.map_err(|e| e.to_string())?;
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
                *llm_calls += 1;
                match judge_merge(deps, &old_text, &fact.fact).await {
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

/// Bumps of facts added earlier in the same run become nothing: the addition already
/// counts as the first mention. Likewise a stored fact mentioned several times in one day
/// counts once, and a fact superseded tonight is not also bumped or superseded twice.
fn resolve_pending_bumps(changes: Vec<FactChange>) -> Vec<FactChange> {
    let superseded: std::collections::HashSet<i64> = changes
        .iter()
        .filter_map(|c| match c {
            FactChange::Supersede { old, .. } => Some(*old),
            _ => None,
        })
        .collect();
    let mut bumped = std::collections::HashSet::new();
    let mut replaced = std::collections::HashSet::new();
    changes
        .into_iter()
        .filter_map(|c| match c {
            FactChange::Bump(id) if id < 0 || superseded.contains(&id) || !bumped.insert(id) => {
                None
            }
            // Contradicting a fact that is itself new tonight: keep the newer one as well.
            FactChange::Supersede { old, new } if old < 0 || !replaced.insert(old) => {
                Some(FactChange::Add(new))
            }
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

/// Applies `memory.archive_retention_days` (0 keeps the archive forever).
async fn purge_expired_archive(
    deps: &ConsolidationDeps,
    now: DateTime<Utc>,
) -> Result<u64, ConsolidationError> {
    let days = deps.settings.memory.archive_retention_days;
    if days == 0 {
        return Ok(0);
    }
    let before = now - chrono::Duration::days(i64::from(days));
    let purged = deps
        .store
        .write(move |s| async move { s.purge_archived_before(before).await })
        .await?;
    if purged > 0 {
        tracing::info!(
            purged,
            days,
            "archived messages past the retention period deleted"
        );
    }
    Ok(purged)
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
                let batch = messages::short_term_before(
                    s.writer(),
                    cutoff,
                    SWEEP_BATCH,
                    messages::Authors::Bots,
                )
                .await?;
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

    #[test]
    fn one_day_counts_a_stored_fact_once_and_supersedes_it_once() {
        let new = |fact: &str| NewFact {
            user_id: UserId(1),
            fact: fact.into(),
            category: "personal".into(),
            embedding: None,
        };
        let changes = vec![
            FactChange::Bump(7),
            FactChange::Bump(7),
            FactChange::Bump(8),
            FactChange::Supersede {
                old: 8,
                new: new("lives in Bergen"),
            },
            FactChange::Supersede {
                old: 8,
                new: new("moved to Bergen in March"),
            },
        ];
        let resolved = resolve_pending_bumps(changes);
        assert_eq!(resolved.len(), 3, "{resolved:?}");
        assert!(matches!(resolved[0], FactChange::Bump(7)));
        assert!(
            matches!(&resolved[1], FactChange::Supersede { old: 8, new } if new.fact == "lives in Bergen")
        );
        assert!(
            matches!(&resolved[2], FactChange::Add(new) if new.fact == "moved to Bergen in March")
        );
    }
}
