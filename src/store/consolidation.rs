//! Bookkeeping of memory-consolidation runs. A run records its cutoff when it starts, so after
//! a crash the next start resumes with the same cutoff; per-member work is one transaction
//! (facts + archive move + `record_run_progress`), so nothing is done twice.

use chrono::{DateTime, Utc};
use entity::{consolidation_runs, short_term_messages};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};

use super::{StoreError, StoreResult, archive, batches, facts, messages, to_i32, ts};
use crate::domain::{FactChange, GuildId, MessageId, RunStats, ServerMember, UserId};
use crate::ports::store::ConsolidationCommit;
use sea_orm::{QuerySelect, TransactionSession, TransactionTrait};

/// Bot and leftover messages archived per statement batch.
const SWEEP_BATCH: u64 = 5_000;

const RUNNING: &str = "running";
const FINISHED: &str = "finished";
const FAILED: &str = "failed";

/// The scope of a single process's runs (every shard).
pub const ALL: &str = "all";

/// Starts a run of `scope` (the shard range running it, see `ShardSet::key`); returns its id.
pub async fn start_run<C: ConnectionTrait>(
    db: &C,
    scope: &str,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let row = consolidation_runs::ActiveModel {
        scope: Set(scope.to_owned()),
        cutoff: Set(ts(cutoff)),
        started_at: Set(ts(now)),
        finished_at: Set(None),
        status: Set(RUNNING.to_owned()),
        users_done: Set(0),
        facts_added: Set(0),
        facts_bumped: Set(0),
        messages_archived: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// The newest run of `scope` still marked running (interrupted by a restart, or by the
/// death of the process a standby replaces), with its cutoff.
pub async fn unfinished_run<C: ConnectionTrait>(
    db: &C,
    scope: &str,
) -> StoreResult<Option<(i64, DateTime<Utc>)>> {
    Ok(consolidation_runs::Entity::find()
        .filter(consolidation_runs::Column::Status.eq(RUNNING))
        .filter(consolidation_runs::Column::Scope.eq(scope))
        .order_by_desc(consolidation_runs::Column::Id)
        .one(db)
        .await?
        .map(|m| (m.id, m.cutoff)))
}

/// The counters of a run (for a status command).
pub async fn run_stats<C: ConnectionTrait>(db: &C, id: i64) -> StoreResult<RunStats> {
    let m = consolidation_runs::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound {
            what: "consolidation run",
            id,
        })?;
    let n = |v: i32| u64::try_from(v).unwrap_or_default();
    Ok(RunStats {
        users_done: n(m.users_done),
        facts_added: n(m.facts_added),
        facts_bumped: n(m.facts_bumped),
        messages_archived: n(m.messages_archived),
    })
}

async fn set_state<C: ConnectionTrait>(
    db: &C,
    id: i64,
    stats: RunStats,
    end: Option<(&str, DateTime<Utc>)>,
) -> StoreResult<()> {
    let row = consolidation_runs::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound {
            what: "consolidation run",
            id,
        })?;
    // Counters never go down: a step that retried a commit after a timeout may report
    // totals that miss what the first attempt already did.
    let keep = |stored: i32, new: u64| to_i32(u64::try_from(stored).unwrap_or_default().max(new));
    let mut am = row.clone().into_active_model();
    am.users_done = Set(keep(row.users_done, stats.users_done));
    am.facts_added = Set(keep(row.facts_added, stats.facts_added));
    am.facts_bumped = Set(keep(row.facts_bumped, stats.facts_bumped));
    am.messages_archived = Set(keep(row.messages_archived, stats.messages_archived));
    if let Some((status, at)) = end {
        am.status = Set(status.to_owned());
        am.finished_at = Set(Some(ts(at)));
    }
    am.update(db).await?;
    Ok(())
}

/// Stores the running totals; call it inside each member's transaction.
pub async fn record_run_progress<C: ConnectionTrait>(
    db: &C,
    id: i64,
    stats: RunStats,
) -> StoreResult<()> {
    set_state(db, id, stats, None).await
}

pub async fn finish_run<C: ConnectionTrait>(
    db: &C,
    id: i64,
    now: DateTime<Utc>,
    stats: RunStats,
) -> StoreResult<()> {
    set_state(db, id, stats, Some((FINISHED, now))).await
}

/// Marks a run failed so it is not resumed (the next run starts with a fresh cutoff).
pub async fn fail_run<C: ConnectionTrait>(
    db: &C,
    id: i64,
    now: DateTime<Utc>,
    stats: RunStats,
) -> StoreResult<()> {
    set_state(db, id, stats, Some((FAILED, now))).await
}

/// The members (per server) who still have messages among `ids` in the short-term log: a
/// consolidation commit keeps only what it learned from messages that were not deleted
/// meanwhile.
async fn authors_still_logged<C: ConnectionTrait>(
    db: &C,
    ids: &[MessageId],
) -> StoreResult<std::collections::HashSet<ServerMember>> {
    let mut alive = std::collections::HashSet::new();
    for chunk in batches(ids) {
        let rows: Vec<(Option<i64>, i64)> = short_term_messages::Entity::find()
            .select_only()
            .column(short_term_messages::Column::GuildId)
            .column(short_term_messages::Column::AuthorId)
            .filter(
                short_term_messages::Column::MessageId.is_in(chunk.iter().map(|id| id.as_i64())),
            )
            .into_tuple()
            .all(db)
            .await?;
        alive.extend(rows.into_iter().map(|(guild, user)| {
            ServerMember::of(guild.map(GuildId::from_i64), UserId::from_i64(user))
        }));
    }
    Ok(alive)
}

/// Deletes short-term messages without archiving them (members and servers that turned
/// memory off).
async fn discard_short_term<C: ConnectionTrait>(db: &C, ids: &[MessageId]) -> StoreResult<u64> {
    let mut total = 0;
    for chunk in batches(ids) {
        total += short_term_messages::Entity::delete_many()
            .filter(
                short_term_messages::Column::MessageId.is_in(chunk.iter().map(|id| id.as_i64())),
            )
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(total)
}

/// Commits a consolidation group all or nothing: the fact changes, the archive move of
/// the messages they came from, and the run's progress. Returns the archived count.
pub async fn commit<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    commit: ConsolidationCommit,
) -> StoreResult<u64> {
    let now = commit.at;
    let model = commit.embedding_model.as_deref();
    let tx = db.begin().await?;
    // What a commit learned counts only while the messages it learned from are still in
    // the short-term log. That makes the commit idempotent (a retry after a call that
    // timed out while the first attempt still ran finds them archived, and changes
    // nothing twice), and messages deleted since the run read them (a `/memory
    // forget-all`, a delete in chat) take what was learned from them along.
    let alive = authors_still_logged(&tx, &commit.archive).await?;
    let learned = |new: &crate::domain::NewFact| {
        alive.contains(&crate::domain::ServerMember::new(new.guild_id, new.user_id))
    };
    for change in &commit.changes {
        let applied = match change {
            FactChange::Add(new) if learned(new) => {
                facts::insert_fact(&tx, new, model, now).await.map(drop)
            }
            FactChange::Supersede { old, new } if learned(new) => {
                facts::supersede_fact(&tx, *old, new, model, now)
                    .await
                    .map(drop)
            }
            FactChange::Add(_) | FactChange::Supersede { .. } => Ok(()),
            // A bump counts once per run: a retried commit finds the messages it
            // learned from archived already, and bumps nothing twice.
            FactChange::Bump(id) => match facts::fact(&tx, *id, model).await? {
                Some(f) if alive.contains(&ServerMember::new(f.guild_id, f.user_id)) => {
                    facts::bump_fact(&tx, *id, model, now).await.map(drop)
                }
                _ => Ok(()),
            },
            FactChange::Reembed { id, vector } => match model {
                Some(model) => facts::set_fact_embedding(&tx, *id, model, vector).await,
                None => Ok(()),
            },
        };
        match applied {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    let archived = archive::archive_messages(&tx, &commit.archive, now).await?;
    discard_short_term(&tx, &commit.forget).await?;
    // The archive count is added to what is stored, not to the step's view of it.
    let mut progress = commit.progress;
    progress.messages_archived = run_stats(&tx, commit.run_id).await?.messages_archived + archived;
    record_run_progress(&tx, commit.run_id, progress).await?;
    tx.commit().await?;
    Ok(archived)
}

/// Archives the bots' short-term messages older than `cutoff`, in batches; returns the
/// count.
pub async fn archive_bot_messages<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let batch =
            messages::short_term_before(db, cutoff, SWEEP_BATCH, messages::Authors::Bots).await?;
        if batch.is_empty() {
            return Ok(total);
        }
        let ids: Vec<MessageId> = batch.iter().map(|m| m.id).collect();
        let tx = db.begin().await?;
        total += archive::archive_messages(&tx, &ids, now).await?;
        tx.commit().await?;
    }
}
