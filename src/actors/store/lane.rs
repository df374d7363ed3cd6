//! The write lane: one task that applies every write in arrival order, so the StoreActor's
//! mailbox never waits on the database.
//!
//! A long write (a consolidation group commit, an erasure, an archive sweep) holds only
//! this lane: appends keep landing in the journal, reads are spawned on the read pool, and
//! a reply reads its transcript from the database plus the journal. Chat messages are
//! written in batches (up to `BATCH_MAX`, after at most `BATCH_WINDOW`), and always before
//! any write queued after them, so an edit never overtakes its message; deletions wait in
//! the journal too and are applied after the messages.
//!
//! A transient database failure (locked, unreachable) is retried with backoff until the
//! database is back: messages stay in the journal meanwhile, and later writes wait.

use super::journal::Journal;
use super::requests::{Ctx, StoreMsg};
use crate::domain::{LoggedMessage, MessageId};
use crate::store::{Store, StoreError, archive, messages};
use crate::telemetry::metrics;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long appends wait for company before they are written.
pub const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// Appends written in one transaction at most.
pub const BATCH_MAX: usize = 500;
/// Longest pause between retries while the database is unavailable.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One job, in order with every other.
pub enum LaneJob {
    /// A write (`Access::InOrder` or `Cast`); its reply, if any, is sent when applied.
    Write(StoreMsg),
    /// A read that must see every write queued before it (spawned once they are applied).
    AfterWrites(StoreMsg),
}

/// Runs until every sender is gone, then writes what the journal still holds.
pub async fn run(store: Store, journal: Arc<Journal>, mut jobs: mpsc::Receiver<LaneJob>) {
    loop {
        tokio::select! {
            biased;
            job = jobs.recv() => {
                metrics::store_pending(journal.len(), jobs.len() + 1);
                write_journal(&store, &journal).await;
                metrics::store_pending(journal.len(), jobs.len());
                match job {
                    Some(job) => apply(&store, &journal, job).await,
                    None => break,
                }
            }
            () = journal.arrived() => {
                metrics::store_pending(journal.len(), jobs.len());
                // Wait a moment for more chat to write in the same transaction, but never
                // make a write (a reply's token spend, an admin edit) wait for that window.
                let mut job = None;
                if journal.len() < BATCH_MAX {
                    tokio::select! {
                        () = tokio::time::sleep(BATCH_WINDOW) => {}
                        next = jobs.recv() => job = Some(next),
                    }
                }
                write_journal(&store, &journal).await;
                metrics::store_pending(journal.len(), jobs.len());
                match job {
                    Some(Some(job)) => apply(&store, &journal, job).await,
                    Some(None) => break,
                    None => {}
                }
            }
        }
    }
    write_journal(&store, &journal).await;
}

async fn apply(store: &Store, journal: &Arc<Journal>, job: LaneJob) {
    match job {
        LaneJob::Write(msg) => {
            let access = msg.access();
            msg.run(Ctx::new(store, journal, access)).await;
        }
        LaneJob::AfterWrites(msg) => {
            let (store, journal) = (store.clone(), journal.clone());
            tokio::spawn(async move {
                let access = msg.access();
                msg.run(Ctx::new(&store, &journal, access)).await;
            });
        }
    }
}

/// Writes the journal out, batch by batch, each batch of messages followed by a batch of
/// deletions, waiting out a database outage. A message deleted while its batch was being
/// written is thereby deleted again right after.
async fn write_journal(store: &Store, journal: &Journal) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let batch = journal.oldest(BATCH_MAX);
        let deletions = journal.oldest_deletions(BATCH_MAX);
        if batch.is_empty() && deletions.is_empty() {
            return;
        }
        let written = async {
            let started = std::time::Instant::now();
            write_batch(store, &batch).await?;
            metrics::store_flushed(started.elapsed());
            metrics::messages_logged(batch.len());
            let ids: Vec<MessageId> = batch.iter().map(|m| m.id).collect();
            journal.remove(&ids);
            delete_batch(store, &deletions).await?;
            journal.deletions_applied(&deletions);
            Ok::<(), StoreError>(())
        };
        match written.await {
            Ok(()) => backoff = Duration::from_millis(50),
            Err(error) => {
                tracing::warn!(%error, pending = journal.len(), deletions = journal.deletions_len(), retry_in = ?backoff, "database unavailable; chat messages held until it is back");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Deletes one batch of deleted messages (nothing to do for none). `Err` only for a
/// transient failure; a refusal is logged and the deletion dropped (retrying it would block
/// every later write).
async fn delete_batch(store: &Store, ids: &[MessageId]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    match archive::delete_messages(store.writer(), ids).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_transient() => Err(error),
        Err(error) => {
            tracing::warn!(%error, count = ids.len(), "could not record message deletions");
            Ok(())
        }
    }
}

/// Writes one batch. One row the database refuses must not block every other: on a refusal
/// the batch is written message by message and only the refused ones are dropped. Returns
/// `Err` only for a transient failure (nothing lost; try again).
async fn write_batch(store: &Store, batch: &[LoggedMessage]) -> Result<(), StoreError> {
    let error = match messages::append_messages(store.writer(), batch).await {
        Ok(_) => return Ok(()),
        Err(error) if error.is_transient() => return Err(error),
        Err(error) => error,
    };
    tracing::warn!(%error, count = batch.len(), "batch write refused; writing messages one by one");
    for message in batch {
        match messages::append_messages(store.writer(), std::slice::from_ref(message)).await {
            Ok(_) => {}
            Err(error) if error.is_transient() => return Err(error),
            Err(error) => {
                tracing::error!(%error, id = %message.id, "the database refused a chat message; dropped")
            }
        }
    }
    Ok(())
}
