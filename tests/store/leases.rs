//! Leases on once-only work, and the other writes several processes share: one holder at a
//! time, renewal, takeover after expiry, release; two processes (two `Store`s on one
//! database) racing for a lease or for the day's mood roll, and adding token spend at once.

use crate::{both_backends, t0};
use chrono::Duration;
use personabot::domain::budget::TokenUsage;
use personabot::domain::spend::SpendScope;
use personabot::store::Store;

both_backends!(
    a_lease_has_one_holder_until_released_or_expired,
    |store| async move {
        let t = t0();
        let until = t + Duration::seconds(30);
        assert!(
            personabot::store::leases::acquire(store.writer(), "new_day", "a", until, t)
                .await
                .expect("take")
        );
        assert!(
            !personabot::store::leases::acquire(store.writer(), "new_day", "b", until, t)
                .await
                .expect("held"),
            "a held lease is not taken by another"
        );
        // The holder renews (and keeps it past the first expiry).
        let later = t + Duration::seconds(20);
        assert!(
            personabot::store::leases::acquire(
                store.writer(),
                "new_day",
                "a",
                later + Duration::seconds(30),
                later
            )
            .await
            .expect("renew")
        );
        assert!(
            !personabot::store::leases::acquire(
                store.writer(),
                "new_day",
                "b",
                t + Duration::seconds(60),
                t + Duration::seconds(35)
            )
            .await
            .expect("renewed, still held")
        );
        // Unrenewed, it runs out and another holder takes it.
        let expired = t + Duration::seconds(51);
        assert!(
            personabot::store::leases::acquire(
                store.writer(),
                "new_day",
                "b",
                expired + Duration::seconds(30),
                expired
            )
            .await
            .expect("take over")
        );
        assert_eq!(
            personabot::store::leases::holder(store.reader(), "new_day")
                .await
                .expect("read")
                .map(|h| h.0),
            Some("b".to_owned())
        );
        // Only the holder releases; then anyone takes it at once.
        assert!(
            !personabot::store::leases::release(store.writer(), "new_day", "a")
                .await
                .expect("not a's")
        );
        assert!(
            personabot::store::leases::release(store.writer(), "new_day", "b")
                .await
                .expect("b's")
        );
        assert!(
            personabot::store::leases::acquire(store.writer(), "new_day", "a", until, t)
                .await
                .expect("free")
        );
        // Leases are independent.
        assert!(
            personabot::store::leases::acquire(store.writer(), "shards:0-0/2", "b", until, t)
                .await
                .expect("other")
        );
    }
);

/// Two processes on one database (two stores) asking for the same lease at the same moment:
/// exactly one gets it, every time.
async fn race(first: &Store, second: &Store, name: &str) -> (bool, bool) {
    let t = t0();
    let until = t + Duration::seconds(30);
    let (a, b) = tokio::join!(
        personabot::store::leases::acquire(first.writer(), name, "a", until, t),
        personabot::store::leases::acquire(second.writer(), name, "b", until, t)
    );
    (a.expect("a asked"), b.expect("b asked"))
}

both_backends!(
    two_processes_racing_for_a_lease_get_one_winner,
    |store, db| async move {
        let other = db.store().await;
        for round in 0..20 {
            let (a, b) = race(&store, &other, &format!("race_{round}")).await;
            assert!(a ^ b, "round {round}: a {a}, b {b}");
        }
    }
);

both_backends!(
    the_days_mood_is_rolled_once_across_processes,
    |store, db| async move {
        let other = db.store().await;
        let day = 739_584;
        let values_a = vec![("daily_mood_energy".to_owned(), 7)];
        let values_b = vec![("daily_mood_energy".to_owned(), 2)];
        let (a, b) = tokio::join!(
            personabot::store::global_state::roll_mood(store.writer(), &values_a, day, t0()),
            personabot::store::global_state::roll_mood(other.writer(), &values_b, day, t0())
        );
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert!(a ^ b, "one roll: {a} {b}");
        let energy = personabot::store::global_state::mood(store.reader())
            .await
            .expect("mood")["daily_mood_energy"];
        assert_eq!(energy, if a { 7 } else { 2 }, "the winner's values stand");
        assert!(
            !personabot::store::global_state::roll_mood(store.writer(), &values_b, day, t0())
                .await
                .expect("again")
        );
        assert!(
            personabot::store::global_state::roll_mood(store.writer(), &values_b, day + 1, t0())
                .await
                .expect("next day")
        );
    }
);

both_backends!(
    token_spend_from_two_processes_adds_up,
    |store, db| async move {
        let other = db.store().await;
        let one = TokenUsage {
            prompt: 10,
            completion: 1,
            cached: 0,
            requests: 1,
        };
        let scopes = [SpendScope::Global];
        let mut adds = Vec::new();
        for i in 0..20 {
            let s = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            adds.push(tokio::spawn(async move {
                personabot::store::usage::add_spend(
                    s.writer(),
                    "2026-11-29",
                    &[SpendScope::Global],
                    one,
                    t0(),
                )
                .await
                .expect("add");
            }));
        }
        for add in adds {
            add.await.expect("joined");
        }
        let spent = personabot::store::usage::spend_on(store.reader(), "2026-11-29", &scopes)
            .await
            .expect("read");
        assert_eq!(spent[0].1.usage.requests, 20);
        assert_eq!(spent[0].1.usage.prompt, 200);
    }
);
