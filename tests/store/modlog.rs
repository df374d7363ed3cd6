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
