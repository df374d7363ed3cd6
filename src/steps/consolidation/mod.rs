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

mod extraction;

use super::budget::BudgetGate;
use super::standby::Ownership;
use crate::config::Settings;
use crate::domain::{FactChange, MessageId, RunStats, ServerMember};
use crate::ports::LanguageModel;
use crate::ports::store::{ConsolidationCommit, ConsolidationStore, StoreError};
use chrono::{DateTime, Utc};
use extraction::prepare_member;
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Instrument;

/// Members prepared at the same time (their model calls overlap).
const CONCURRENT_USERS: usize = 16;
/// Most members committed in one transaction.
const MAX_GROUP: usize = 64;

pub struct ConsolidationDeps {
    pub store: Arc<dyn ConsolidationStore>,
    pub llm: Arc<dyn LanguageModel>,
    pub settings: Arc<Settings>,
    /// Consolidation is charged to each member's server.
    pub budget: Arc<BudgetGate>,
    /// Set when the server turned out not to have the embedding model (reset each run).
    pub embeddings_missing: AtomicBool,
    /// Only the members of servers this process owns are consolidated here; the run's
    /// bookkeeping is per shard range, so a standby of the range resumes it.
    pub ownership: Ownership,
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
    Store(#[from] StoreError),
}

/// A member whose changes are decided and ready to commit.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    member: ServerMember,
    ids: Vec<MessageId>,
    /// False: the member or their server turned memory off; `ids` are deleted, not archived.
    remember: bool,
    changes: Vec<FactChange>,
}

/// What preparing a member came to.
pub(crate) enum Prep {
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
    let owned = &deps.ownership;
    if !owned.is_active() {
        tracing::info!("standing by (another process runs these shards): no consolidation here");
        return Ok(RunReport::default());
    }
    let scope = owned.scope();
    let (run_id, cutoff) = match store.unfinished_run(scope.clone()).await? {
        Some((id, cutoff)) => {
            tracing::info!(run = id, %cutoff, %scope, "resuming an unfinished consolidation run");
            (id, cutoff)
        }
        None => (store.start_run(scope, now, now).await?, now),
    };
    let mut report = RunReport {
        run_id,
        cutoff,
        ..RunReport::default()
    };
    deps.embeddings_missing.store(false, Ordering::Relaxed);
    if deps.llm.embedding_model().is_none() {
        tracing::info!("no embedding model configured: matching facts by lexical similarity");
    }
    let mut users = store.short_term_authors_before(cutoff).await?;
    users.retain(|member| owned.owns(member.guild));
    let switches = store.memory_switches().await?;
    let llm_calls = std::sync::atomic::AtomicU32::new(0);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Prepared>(MAX_GROUP);
    let mut skipped = 0u32;
    let prepare = async {
        let mut prepared = futures::stream::iter(users)
            .map(|member| {
                let span = tracing::info_span!(
                    "consolidate_member",
                    run = run_id,
                    user = %member.user,
                    guild = %member.guild
                );
                let remember = switches.remembers(member);
                let owned = owned.clone();
                let llm_calls = &llm_calls;
                async move {
                    // Gave the shards up meanwhile (shutdown, a lease lost): leave the rest
                    // to the process that has them.
                    if !owned.is_active() {
                        return Ok(Prep::Skipped);
                    }
                    prepare_member(deps, member, remember, cutoff, now, llm_calls).await
                }
                .instrument(span)
            })
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
            if !owned.is_active() {
                tracing::warn!(
                    "these shards are no longer ours: leaving the rest of the run to their new owner"
                );
                totals.users_failed += u32::try_from(group.len()).unwrap_or(u32::MAX);
                group.clear();
                continue;
            }
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
    if owned.does_bot_wide_chores() {
        report.messages_archived += sweep_bot_messages(deps, cutoff, now).await?;
        report.archive_purged = purge_expired_archive(deps, now).await?;
    }
    let stats = RunStats {
        users_done: u64::from(report.users_done),
        facts_added: u64::from(report.facts_added),
        facts_bumped: u64::from(report.facts_bumped),
        messages_archived: report.messages_archived,
    };
    store.finish_run(run_id, Utc::now(), stats).await?;
    tracing::info!(?report, "consolidation finished");
    Ok(report)
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
                let member = one.member;
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
                        tracing::warn!(%member, %error, "could not store a member's consolidation; their messages stay for the next run");
                    }
                }
            }
            totals
        }
        Err(error) => {
            let member = group.first().map(|p| p.member);
            tracing::warn!(?member, %error, "could not store a member's consolidation; their messages stay for the next run");
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
    let progress = RunStats {
        users_done: u64::from(before.users_done + outcome.users_done),
        facts_added: u64::from(before.added + outcome.added),
        facts_bumped: u64::from(before.bumped + outcome.bumped),
        messages_archived: before.archived,
    };
    let (kept, forgotten): (Vec<&Prepared>, Vec<&Prepared>) =
        group.iter().partition(|p| p.remember);
    let commit = ConsolidationCommit {
        run_id,
        archive: kept.iter().flat_map(|p| p.ids.iter().copied()).collect(),
        forget: forgotten
            .iter()
            .flat_map(|p| p.ids.iter().copied())
            .collect(),
        changes: group.into_iter().flat_map(|p| p.changes).collect(),
        progress,
        embedding_model: deps.llm.embedding_model(),
        at: now,
    };
    outcome.archived = deps.store.commit_consolidation(commit).await?;
    Ok(outcome)
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
    let purged = deps.store.purge_archived_before(before).await?;
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
    let moved = deps.store.archive_bot_messages(cutoff, now).await?;
    Ok(moved)
}
