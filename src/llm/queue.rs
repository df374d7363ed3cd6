//! Model calls in flight, limited to what the server can work on, live replies first.
//!
//! A local server serves one or a few requests at a time (a llama.cpp server with one
//! slot takes ~15 s a request for a 1.5B model on two cores). Sent all at once, sixteen
//! consolidation extractions would make a member's mention wait behind all of them and time
//! out. Here a call waits for a free place instead, and a waiting live reply always gets
//! the next one before any waiting background call. Waiting costs no timeout: the request
//! deadline starts once the call is sent.

use crate::ports::Priority;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

#[derive(Default)]
struct Places {
    in_flight: usize,
    live: VecDeque<oneshot::Sender<()>>,
    background: VecDeque<oneshot::Sender<()>>,
}

/// The queue; cheap to share.
#[derive(Clone, Default)]
pub struct CallQueue {
    places: Arc<Mutex<Places>>,
}

/// A place taken; dropping it hands it to the next waiting call.
pub struct Place {
    places: Arc<Mutex<Places>>,
}

impl CallQueue {
    fn lock(&self) -> MutexGuard<'_, Places> {
        lock(&self.places)
    }

    /// Waits for one of `limit` places (at least one), before any waiting background call
    /// when `priority` is live.
    pub async fn enter(&self, priority: Priority, limit: usize) -> Place {
        let limit = limit.max(1);
        let waiter = {
            let mut places = self.lock();
            let ahead = match priority {
                Priority::Live => places.live.len(),
                Priority::Background => places.live.len() + places.background.len(),
            };
            if places.in_flight < limit && ahead == 0 {
                places.in_flight += 1;
                None
            } else {
                let (tx, rx) = oneshot::channel();
                match priority {
                    Priority::Live => places.live.push_back(tx),
                    Priority::Background => places.background.push_back(tx),
                }
                Some(rx)
            }
        };
        if let Some(rx) = waiter {
            let mut waiting = Waiting {
                rx: Some(rx),
                places: self.places.clone(),
            };
            if let Some(rx) = waiting.rx.as_mut() {
                // The sender is only dropped once it has handed the place over.
                let _ = rx.await;
            }
            waiting.rx = None;
        }
        Place {
            places: self.places.clone(),
        }
    }

    /// Calls in flight and waiting (live, background), for tests and metrics.
    pub fn load(&self) -> (usize, usize, usize) {
        let places = self.lock();
        (places.in_flight, places.live.len(), places.background.len())
    }
}

fn lock(places: &Mutex<Places>) -> MutexGuard<'_, Places> {
    // Only counters and queues are changed under the lock, never left half-updated.
    places.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A call waiting for a place. Dropped while waiting (its caller gave up) just after the
/// place was handed to it, it hands the place on instead of keeping it for ever.
struct Waiting {
    rx: Option<oneshot::Receiver<()>>,
    places: Arc<Mutex<Places>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take()
            && rx.try_recv().is_ok()
        {
            drop(Place {
                places: self.places.clone(),
            });
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut places = lock(&self.places);
        // Hand the place straight to the next waiter that is still waiting (a caller that
        // gave up dropped its receiver: skip it).
        while let Some(next) = places
            .live
            .pop_front()
            .or_else(|| places.background.pop_front())
        {
            if next.send(()).is_ok() {
                return;
            }
        }
        places.in_flight = places.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_live_call_goes_before_waiting_background_calls() {
        let queue = CallQueue::default();
        let first = queue.enter(Priority::Background, 1).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("bg1", Priority::Background),
            ("bg2", Priority::Background),
            ("live", Priority::Live),
        ] {
            let (queue, order) = (queue.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _place = queue.enter(priority, 1).await;
                lock_vec(&order).push(name);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(queue.load(), (1, 1, 2));
        drop(first);
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(*lock_vec(&order), vec!["live", "bg1", "bg2"]);
        assert_eq!(queue.load(), (0, 0, 0));
    }

    #[tokio::test]
    async fn a_caller_that_gave_up_does_not_keep_its_place() {
        let queue = CallQueue::default();
        let first = queue.enter(Priority::Live, 1).await;
        let gave_up =
            tokio::time::timeout(Duration::from_millis(10), queue.enter(Priority::Live, 1)).await;
        assert!(gave_up.is_err());
        drop(first);
        let _again = tokio::time::timeout(
            Duration::from_millis(100),
            queue.enter(Priority::Background, 1),
        )
        .await
        .expect("the place is free again");
        assert_eq!(queue.load(), (1, 0, 0));
    }

    #[tokio::test]
    async fn up_to_the_limit_run_at_once() {
        let queue = CallQueue::default();
        let a = queue.enter(Priority::Background, 2).await;
        let b = queue.enter(Priority::Live, 2).await;
        assert_eq!(queue.load(), (2, 0, 0));
        drop((a, b));
        assert_eq!(queue.load(), (0, 0, 0));
    }

    fn lock_vec<T>(m: &Mutex<Vec<T>>) -> MutexGuard<'_, Vec<T>> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
