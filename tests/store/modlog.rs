//! The moderation log: numbered cases and temporary bans.

use crate::{both_backends, t0};
use chrono::Duration;
use personabot::domain::ModAction;
use personabot::domain::{GuildId, UserId};
use personabot::store::StoreError;

both_backends!(modlog_numbers_per_guild, |store| async move {
    let t = t0();
    let (a, b) = (GuildId(1), GuildId(2));
    let mod_ = UserId(99);
    let c1 = personabot::store::modlog::add_case(
        store.writer(),
        a,
        ModAction::Kick,
        UserId(5),
        mod_,
        Some("spam"),
        None,
        t,
    )
    .await
    .expect("case");
    let c2 = personabot::store::modlog::add_case(
        store.writer(),
        a,
        ModAction::Ban,
        UserId(5),
        mod_,
        None,
        Some(t + Duration::hours(1)),
        t,
    )
    .await
    .expect("case");
    let other = personabot::store::modlog::add_case(
        store.writer(),
        b,
        ModAction::Timeout,
        UserId(5),
        mod_,
        None,
        Some(t),
        t,
    )
    .await
    .expect("case");
    let c3 = personabot::store::modlog::add_case(
        store.writer(),
        a,
        ModAction::Ban,
        UserId(6),
        mod_,
        Some("raid"),
        Some(t + Duration::days(1)),
        t,
    )
    .await
    .expect("case");
    assert_eq!(
        (
            c1.case_number,
            c2.case_number,
            c3.case_number,
            other.case_number
        ),
        (1, 2, 3, 1)
    );
    let cases = personabot::store::modlog::cases_for(store.reader(), a, UserId(5))
        .await
        .expect("cases");
    assert_eq!(cases, vec![c1.clone(), c2.clone()]);
    assert_eq!(cases[0].reason.as_deref(), Some("spam"));
    // Due: bans only, expired, not lifted.
    assert!(
        personabot::store::modlog::due_temporary_bans(store.reader(), t)
            .await
            .expect("due")
            .is_empty()
    );
    let due = personabot::store::modlog::due_temporary_bans(store.reader(), t + Duration::hours(2))
        .await
        .expect("due");
    assert_eq!(due.iter().map(|c| c.id).collect::<Vec<_>>(), [c2.id]);
    personabot::store::modlog::mark_case_lifted(store.writer(), c2.id, t + Duration::hours(2))
        .await
        .expect("lift");
    assert!(
        personabot::store::modlog::due_temporary_bans(store.reader(), t + Duration::hours(2))
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        personabot::store::modlog::due_temporary_bans(store.reader(), t + Duration::days(2))
            .await
            .expect("due")
            .len(),
        1
    );
    assert!(matches!(
        personabot::store::modlog::mark_case_lifted(store.writer(), 12_345, t).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        personabot::store::modlog::add_case(
            store.writer(),
            a,
            ModAction::Kick,
            UserId(5),
            mod_,
            Some(&"r".repeat(513)),
            None,
            t
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        personabot::store::modlog::add_case(
            store.writer(),
            a,
            ModAction::Unban,
            UserId(5),
            mod_,
            None,
            None,
            t
        )
        .await
        .expect("case")
        .case_number,
        4
    );
});

both_backends!(lift_state_backs_off_and_gives_up, |store| async move {
    use personabot::domain::ChannelId;
    use personabot::domain::lifting::LiftState;
    let t = t0();
    let (g, other) = (GuildId(1), GuildId(2));
    let ban = |user: u64| {
        let store = store.clone();
        async move {
            personabot::store::modlog::add_case(
                store.writer(),
                g,
                ModAction::Ban,
                UserId(user),
                UserId(99),
                None,
                Some(t),
                t,
            )
            .await
            .expect("case")
        }
    };
    let (a, b, c) = (ban(5).await, ban(6).await, ban(7).await);
    assert_eq!(a.lift, LiftState::default());
    let due = |at| {
        let store = store.clone();
        async move {
            personabot::store::modlog::due_temporary_bans(store.reader(), at)
                .await
                .expect("due")
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(due(t).await, [a.id, b.id, c.id]);
    // a backs off for an hour, b is given up, c stays due.
    let backing_off = LiftState {
        failures: 1,
        retry_at: Some(t + Duration::hours(1)),
        given_up_at: None,
    };
    let given_up = LiftState {
        failures: 3,
        retry_at: None,
        given_up_at: Some(t),
    };
    personabot::store::modlog::set_lift_state(store.writer(), &[a.id], backing_off)
        .await
        .expect("write");
    personabot::store::modlog::set_lift_state(store.writer(), &[b.id], given_up)
        .await
        .expect("write");
    assert_eq!(due(t).await, [c.id]);
    assert_eq!(due(t + Duration::hours(1)).await, [a.id, c.id]);
    // Timestamps come back at the database's precision (microseconds).
    let close = |a: Option<chrono::DateTime<chrono::Utc>>,
                 b: Option<chrono::DateTime<chrono::Utc>>| {
        a.zip(b)
            .is_some_and(|(a, b)| (a - b).abs() < Duration::milliseconds(1))
    };
    let read = personabot::store::modlog::cases_for(store.reader(), g, UserId(5))
        .await
        .expect("cases")[0]
        .lift;
    assert_eq!((read.failures, read.given_up_at), (1, None));
    assert!(close(read.retry_at, backing_off.retry_at), "{read:?}");
    let read = personabot::store::modlog::cases_for(store.reader(), g, UserId(6))
        .await
        .expect("cases")[0]
        .lift;
    assert_eq!((read.failures, read.retry_at), (3, None));
    assert!(close(read.given_up_at, given_up.given_up_at), "{read:?}");

    // The log channel, per server.
    assert_eq!(
        personabot::store::modlog::log_channel(store.reader(), g)
            .await
            .expect("read"),
        None
    );
    personabot::store::modlog::set_log_channel(store.writer(), g, Some(ChannelId(40)), t)
        .await
        .expect("set");
    assert_eq!(
        personabot::store::modlog::log_channel(store.reader(), g)
            .await
            .expect("read"),
        Some(ChannelId(40))
    );
    assert_eq!(
        personabot::store::modlog::log_channel(store.reader(), other)
            .await
            .expect("read"),
        None
    );
    personabot::store::modlog::set_log_channel(store.writer(), g, None, t)
        .await
        .expect("clear");
    assert_eq!(
        personabot::store::modlog::log_channel(store.reader(), g)
            .await
            .expect("read"),
        None
    );
});
