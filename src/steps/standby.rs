//! Running a shard range in one process at a time, with standbys.
//!
//! Several processes may be configured for the same shard range: the first to take the
//! range's lease (`shards:<range>`) connects its shards and owns their servers; the others
//! stand by, trying again every few seconds, and one of them takes over once the holder
//! releases the lease (clean shutdown) or it runs out (the holder was killed). A holder
//! that loses its lease (it could not renew in time and another process took it) stops its
//! connection at once, so two processes never answer the same server.
//!
//! [`Ownership`] tells the periodic steps which servers are this process's to work on:
//! those of its shards, and only while it holds the range.

use super::leases::{HeldLease, Leases, Validity};
use crate::domain::GuildId;
use crate::domain::shards::ShardSet;
use crate::ports::{ChatGateway, ConnectionEnd};
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The servers this process works on: those of its shards while it is active.
#[derive(Clone, Debug)]
pub struct Ownership {
    shards: ShardSet,
    active: Arc<AtomicBool>,
    /// While the range is held by lease: until when, by this process's clock.
    lease: Arc<std::sync::Mutex<Option<Validity>>>,
}

impl Ownership {
    /// `active`: whether it owns its servers from the start (a process without a gateway
    /// connection, such as a maintenance command, needs no lease).
    pub fn new(shards: ShardSet, active: bool) -> Self {
        Self {
            shards,
            active: Arc::new(AtomicBool::new(active)),
            lease: Arc::default(),
        }
    }

    /// One process owning every server (the single-process bot, tests).
    pub fn everything() -> Self {
        Self::new(ShardSet::all(1), true)
    }

    pub fn shards(&self) -> ShardSet {
        self.shards
    }

    /// The name of this range in leases and consolidation runs (`all` for one process).
    pub fn scope(&self) -> String {
        self.shards.key()
    }

    /// Active, and (when active by lease) the lease still ours by this process's clock: a
    /// process paused past its lease stops acting before it hears it was taken over.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
            && self
                .lease
                .lock()
                .map(|lease| lease.as_ref().is_none_or(Validity::holds))
                .unwrap_or(false)
    }

    pub fn set_active(&self, active: bool) {
        self.active.store(active, Ordering::Release);
    }

    /// Active for as long as `lease` holds (`None`: no longer by lease).
    fn hold_by(&self, lease: Option<Validity>) {
        if let Ok(mut slot) = self.lease.lock() {
            *slot = lease;
        }
        self.set_active(true);
    }

    /// Whether work about `guild` (`GuildId::DIRECT`: DMs) is this process's now.
    pub fn owns(&self, guild: GuildId) -> bool {
        self.is_active() && self.shards.owns(guild)
    }

    /// Bot-wide chores that belong to no server (archiving the bots' own messages, purging
    /// the archive) are done by the active owner of shard 0.
    pub fn does_bot_wide_chores(&self) -> bool {
        self.is_active() && self.shards.contains_shard(0)
    }
}

/// The name of the lease on a shard range.
pub fn range_lease(shards: ShardSet) -> String {
    format!("shards:{}", shards.key())
}

/// A gateway connection that runs only while this process holds its range's lease.
pub struct StandbyGateway {
    inner: Arc<dyn ChatGateway>,
    leases: Leases,
    ownership: Ownership,
    /// How often a standby tries to take the lease.
    poll: Duration,
    stopping: watch::Sender<bool>,
    /// The lease, kept across reconnects (a dropped connection does not give the range up).
    held: tokio::sync::Mutex<Option<HeldLease>>,
}

impl StandbyGateway {
    pub fn new(inner: Arc<dyn ChatGateway>, leases: Leases, ownership: Ownership) -> Self {
        let poll = (leases.ttl() / 3).max(Duration::from_millis(100));
        Self {
            inner,
            leases,
            ownership,
            poll,
            stopping: watch::channel(false).0,
            held: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits until this process holds the range (`None`: stopped meanwhile).
    async fn take_range(&self) -> Option<HeldLease> {
        if let Some(lease) = self.held.lock().await.take()
            && !lease.is_lost()
        {
            return Some(lease);
        }
        let name = range_lease(self.ownership.shards());
        let mut stopping = self.stopping.subscribe();
        let mut said = false;
        loop {
            if *stopping.borrow() {
                return None;
            }
            match self.leases.try_hold(&name).await {
                Ok(Some(lease)) => {
                    tracing::info!(range = %self.ownership.shards(), "running these shards");
                    return Some(lease);
                }
                Ok(None) if !said => {
                    said = true;
                    tracing::info!(range = %self.ownership.shards(), "another process runs these shards; standing by");
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "could not ask for the shard lease"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                _ = stopping.changed() => {}
            }
        }
    }
}

#[async_trait]
impl ChatGateway for StandbyGateway {
    async fn run(&self) -> ConnectionEnd {
        let Some(mut lease) = self.take_range().await else {
            return ConnectionEnd::Dropped("stopped while standing by".into());
        };
        self.ownership.hold_by(Some(lease.validity()));
        let end = tokio::select! {
            end = self.inner.run() => end,
            () = lease.lost() => {
                self.inner.stop().await;
                ConnectionEnd::Refused(format!(
                    "lost the lease on {} to another process; stopping so that it runs them alone",
                    self.ownership.shards()
                ))
            }
        };
        self.ownership.set_active(false);
        let keep = matches!(end, ConnectionEnd::Dropped(_)) && !*self.stopping.borrow();
        if keep && !lease.is_lost() {
            // The supervisor reconnects; the range stays ours meanwhile.
            *self.held.lock().await = Some(lease);
        } else {
            lease.release().await;
        }
        end
    }

    async fn stop(&self) {
        // `send_replace`: `send` does nothing while no standby loop is subscribed.
        self.stopping.send_replace(true);
        self.inner.stop().await;
        if let Some(lease) = self.held.lock().await.take() {
            lease.release().await;
        }
    }
}
