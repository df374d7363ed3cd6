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
    let c1 = store
        .add_case(a, ModAction::Kick, UserId(5), mod_, Some("spam"), None, t)
        .await
        .expect("case");
    let c2 = store
        .add_case(
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
    let other = store
        .add_case(b, ModAction::Timeout, UserId(5), mod_, None, Some(t), t)
        .await
        .expect("case");
    let c3 = store
        .add_case(
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
    let cases = store.cases_for(a, UserId(5)).await.expect("cases");
    assert_eq!(cases, vec![c1.clone(), c2.clone()]);
    assert_eq!(cases[0].reason.as_deref(), Some("spam"));
    // Due: bans only, expired, not lifted.
    assert!(store.due_temporary_bans(t).await.expect("due").is_empty());
    let due = store
        .due_temporary_bans(t + Duration::hours(2))
        .await
        .expect("due");
    assert_eq!(due.iter().map(|c| c.id).collect::<Vec<_>>(), [c2.id]);
    store
        .mark_case_lifted(c2.id, t + Duration::hours(2))
        .await
        .expect("lift");
    assert!(
        store
            .due_temporary_bans(t + Duration::hours(2))
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        store
            .due_temporary_bans(t + Duration::days(2))
            .await
            .expect("due")
            .len(),
        1
    );
    assert!(matches!(
        store.mark_case_lifted(12_345, t).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .add_case(
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
        store
            .add_case(a, ModAction::Unban, UserId(5), mod_, None, None, t)
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
            store
                .add_case(
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
            store
                .due_temporary_bans(at)
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
    store
        .set_lift_state(vec![a.id], backing_off)
        .await
        .expect("write");
    store
        .set_lift_state(vec![b.id], given_up)
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
    let read = store.cases_for(g, UserId(5)).await.expect("cases")[0].lift;
    assert_eq!((read.failures, read.given_up_at), (1, None));
    assert!(close(read.retry_at, backing_off.retry_at), "{read:?}");
    let read = store.cases_for(g, UserId(6)).await.expect("cases")[0].lift;
    assert_eq!((read.failures, read.retry_at), (3, None));
    assert!(close(read.given_up_at, given_up.given_up_at), "{read:?}");

    // The log channel, per server.
    assert_eq!(store.log_channel(g).await.expect("read"), None);
    store
        .set_log_channel(g, Some(ChannelId(40)), t)
        .await
        .expect("set");
    assert_eq!(
        store.log_channel(g).await.expect("read"),
        Some(ChannelId(40))
    );
    assert_eq!(store.log_channel(other).await.expect("read"), None);
    store.set_log_channel(g, None, t).await.expect("clear");
    assert_eq!(store.log_channel(g).await.expect("read"), None);
});
