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

    /// `connection`, run under the range's lease, or as it is when the process cannot
    /// have a standby (`alone`: SQLite, one process by its lock), which then owns its
    /// shards from the start and never waits for a crashed predecessor's lease.
    pub fn wrap(
        connection: Arc<dyn ChatGateway>,
        leases: Leases,
        ownership: Ownership,
        alone: bool,
    ) -> Arc<dyn ChatGateway> {
        if alone {
            ownership.set_active(true);
            connection
        } else {
            Arc::new(Self::new(connection, leases, ownership))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::store::{LeaseStore, StoreResult};
    use chrono::{DateTime, Utc};
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    /// The lease table in memory, with the same rule as the store's upsert.
    #[derive(Default)]
    struct Table(Mutex<HashMap<String, (String, DateTime<Utc>)>>);

    #[async_trait]
    impl LeaseStore for Table {
        async fn acquire_lease(
            &self,
            name: String,
            holder: String,
            until: DateTime<Utc>,
        ) -> StoreResult<bool> {
            let mut rows = self.0.lock().unwrap();
            let free = rows
                .get(&name)
                .is_none_or(|(h, expires)| *h == holder || *expires < Utc::now());
            if free {
                rows.insert(name, (holder, until));
            }
            Ok(free)
        }
        async fn release_lease(&self, name: String, holder: String) -> StoreResult<bool> {
            let mut rows = self.0.lock().unwrap();
            let mine = rows.get(&name).is_some_and(|(h, _)| *h == holder);
            if mine {
                rows.remove(&name);
            }
            Ok(mine)
        }
    }

    /// A connection that runs until stopped and counts its runs.
    #[derive(Default)]
    struct Connection {
        runs: AtomicUsize,
        stop: tokio::sync::Notify,
    }

    #[async_trait]
    impl ChatGateway for Connection {
        async fn run(&self) -> ConnectionEnd {
            self.runs.fetch_add(1, Ordering::SeqCst);
            self.stop.notified().await;
            ConnectionEnd::Dropped("stopped".into())
        }
        async fn stop(&self) {
            self.stop.notify_waiters();
        }
    }

    fn process(
        table: &Arc<Table>,
        name: &str,
    ) -> (Arc<StandbyGateway>, Arc<Connection>, Ownership) {
        let connection = Arc::new(Connection::default());
        let ownership = Ownership::new(ShardSet::parse("0..1", 2).unwrap(), false);
        let leases = Leases::new(table.clone(), name, Duration::from_millis(600));
        let gateway = Arc::new(StandbyGateway::new(
            connection.clone(),
            leases,
            ownership.clone(),
        ));
        (gateway, connection, ownership)
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            while !check() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting for {what}");
    }

    #[tokio::test]
    async fn one_process_runs_a_range_and_its_standby_takes_over_when_it_stops() {
        let table = Arc::new(Table::default());
        let (first, first_conn, first_owns) = process(&table, "first");
        let (second, second_conn, second_owns) = process(&table, "second");
        let first_run = tokio::spawn({
            let first = first.clone();
            async move { first.run().await }
        });
        until("the first to connect", || {
            first_conn.runs.load(Ordering::SeqCst) == 1
        })
        .await;
        let second_run = tokio::spawn({
            let second = second.clone();
            async move { second.run().await }
        });
        // Longer than the lease time: the first keeps it renewed, the second stands by.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(second_conn.runs.load(Ordering::SeqCst), 0);
        assert!(first_owns.owns(GuildId(2000)) && !second_owns.owns(GuildId(2000)));
        assert!(!first_owns.owns(GuildId((1 << 22) | 2002)), "not its shard");
        // A clean stop releases at once; the standby connects.
        first.stop().await;
        let _ = first_run.await;
        assert!(!first_owns.is_active());
        until("the standby to connect", || {
            second_conn.runs.load(Ordering::SeqCst) == 1
        })
        .await;
        assert!(second_owns.owns(GuildId(2000)));
        second.stop().await;
        let _ = second_run.await;
        assert!(table.0.lock().unwrap().is_empty(), "no lease left behind");
    }

    #[tokio::test]
    async fn a_holder_whose_lease_is_taken_stops_its_connection() {
        let table = Arc::new(Table::default());
        let (gateway, connection, owns) = process(&table, "first");
        let run = tokio::spawn({
            let gateway = gateway.clone();
            async move { gateway.run().await }
        });
        until("the connection", || {
            connection.runs.load(Ordering::SeqCst) == 1
        })
        .await;
        // Another process took the range (the first was paused past its lease).
        let later = Utc::now() + chrono::Duration::hours(1);
        table
            .0
            .lock()
            .unwrap()
            .insert("shards:0-0/2".into(), ("intruder".into(), later));
        let end = tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("stops")
            .expect("joined");
        assert!(matches!(end, ConnectionEnd::Refused(why) if why.contains("lost the lease")));
        assert!(!owns.is_active());
        assert_eq!(
            table
                .0
                .lock()
                .unwrap()
                .get("shards:0-0/2")
                .map(|(h, _)| h.clone()),
            Some("intruder".to_owned()),
            "the other holder's lease is not released by the loser"
        );
    }

    #[test]
    fn ownership_without_a_lease_follows_the_flag() {
        let owns = Ownership::everything();
        assert!(owns.owns(GuildId::DIRECT) && owns.does_bot_wide_chores());
        assert_eq!(owns.scope(), "all");
        let standby = Ownership::new(ShardSet::parse("1..2", 2).unwrap(), false);
        assert!(!standby.owns(GuildId((1 << 22) | 1)));
        standby.set_active(true);
        assert!(standby.owns(GuildId((1 << 22) | 1)) && !standby.does_bot_wide_chores());
        assert_eq!(range_lease(standby.shards()), "shards:1-1/2");
    }
}
