//! Holding a lease while doing work that must happen once across processes.
//!
//! A lease is a database row (`LeaseStore`) with a holder and an expiry. The holder keeps
//! it renewed while it works (every third of the lease time), and gives it up when done or
//! shutting down. A process that is killed cannot give it up; its lease simply runs out
//! after at most one lease time and another process takes it. Short lease times make the
//! takeover quick; renewal makes long work safe.

use crate::ports::store::{LeaseStore, StoreError};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Until when this process may act on a lease by its own clock: the start of the last
/// renewal that succeeded plus five sixths of the lease time. A process paused (starved of
/// CPU, stopped by a debugger) past it stops acting before it learns from the database
/// that another process took over; the sixth left is a margin for clock drift.
#[derive(Clone, Debug)]
pub struct Validity(Arc<Mutex<Instant>>);

impl Validity {
    fn new(until: Instant) -> Self {
        Self(Arc::new(Mutex::new(until)))
    }

    fn extend(&self, until: Instant) {
        let mut current = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = (*current).max(until);
    }

    /// Whether the lease is still ours by this process's clock.
    pub fn holds(&self) -> bool {
        Instant::now()
            < *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Takes leases in the name of one process.
#[derive(Clone)]
pub struct Leases {
    store: Arc<dyn LeaseStore>,
    holder: String,
    ttl: Duration,
}

impl Leases {
    /// `holder`: the process's instance id; `ttl`: how long a lease lasts unrenewed.
    pub fn new(store: Arc<dyn LeaseStore>, holder: &str, ttl: Duration) -> Self {
        Self {
            store,
            holder: holder.to_owned(),
            ttl: ttl.max(Duration::from_millis(300)),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::seconds(30))
    }

    /// How long after a renewal was asked for the lease is still ours by our own clock.
    fn safe_for(&self) -> Duration {
        self.ttl - self.ttl / 6
    }

    /// Tries once to take `name`. `Some`: held, and kept renewed until released or dropped.
    pub async fn try_hold(&self, name: &str) -> Result<Option<HeldLease>, StoreError> {
        let asked = Instant::now();
        let taken = self
            .store
            .acquire_lease(name.to_owned(), self.holder.clone(), self.until(Utc::now()))
            .await?;
        if !taken {
            return Ok(None);
        }
        let (lost_tx, lost) = watch::channel(false);
        let validity = Validity::new(asked + self.safe_for());
        let renewer = tokio::spawn(renew(
            self.clone(),
            name.to_owned(),
            validity.clone(),
            lost_tx,
        ));
        Ok(Some(HeldLease {
            name: name.to_owned(),
            leases: self.clone(),
            lost,
            validity,
            renewer: Some(renewer),
        }))
    }
}

/// Renews `name` every third of the lease time; reports the lease lost when another holder
/// has it, or when renewals kept failing until it may have expired.
async fn renew(leases: Leases, name: String, validity: Validity, lost: watch::Sender<bool>) {
    let every = leases.ttl / 3;
    let mut renewed_at = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let asked = Instant::now();
        let outcome = leases
            .store
            .acquire_lease(
                name.clone(),
                leases.holder.clone(),
                leases.until(Utc::now()),
            )
            .await;
        match outcome {
            Ok(true) => {
                renewed_at = asked;
                validity.extend(asked + leases.safe_for());
            }
            Ok(false) => {
                tracing::error!(lease = %name, "another process took this lease");
                let _ = lost.send(true);
                return;
            }
            Err(error) if renewed_at.elapsed() + every >= leases.ttl => {
                tracing::error!(lease = %name, %error, "could not renew this lease before it runs out");
                let _ = lost.send(true);
                return;
            }
            Err(error) => {
                tracing::warn!(lease = %name, %error, "could not renew a lease; retrying")
            }
        }
    }
}

/// A lease this process holds. Release it when the work is done; dropping it stops the
/// renewals (and gives it up in the background).
pub struct HeldLease {
    name: String,
    leases: Leases,
    lost: watch::Receiver<bool>,
    validity: Validity,
    renewer: Option<tokio::task::JoinHandle<()>>,
}

impl HeldLease {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Until when the lease is ours by this process's clock (kept current by renewals).
    pub fn validity(&self) -> Validity {
        self.validity.clone()
    }

    /// Resolves when the lease is lost (see [`renew`]); never while it is held.
    pub async fn lost(&mut self) {
        if self.lost.wait_for(|lost| *lost).await.is_err() {
            // The renewer ended without reporting a loss: it was stopped, the lease is ours.
            std::future::pending::<()>().await;
        }
    }

    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Stops renewing and gives the lease up, so another process may take it at once.
    pub async fn release(mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
        let name = std::mem::take(&mut self.name);
        let leases = self.leases.clone();
        give_up(&leases, name).await;
    }
}

async fn give_up(leases: &Leases, name: String) {
    if let Err(error) = leases
        .store
        .release_lease(name.clone(), leases.holder.clone())
        .await
    {
        tracing::warn!(lease = %name, %error, "could not release a lease; it runs out by itself");
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
            let leases = self.leases.clone();
            let name = std::mem::take(&mut self.name);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { give_up(&leases, name).await });
            }
        }
    }
}
