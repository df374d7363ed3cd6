//! Relationship metrics and their change log.

use crate::{both_backends, count, t0};
use chrono::Duration;
use personabot::domain::{
    GuildId, Metric, Relationship, RelationshipChange, RelationshipError, ServerMember, UserId,
};
use personabot::store::StoreError;

both_backends!(relationship_metrics_and_events, |store| async move {
    let t = t0();
    let user = ServerMember::new(GuildId(1), UserId(5));
    assert_eq!(
        personabot::store::relationships::relationship(store.reader(), user)
            .await
            .expect("read"),
        Relationship::default()
    );
    let change = personabot::store::relationships::set_metric(
        store.writer(),
        user,
        Metric::Trust,
        8,
        "kept a secret",
        t,
    )
    .await
    .expect("set");
    assert_eq!(
        change,
        RelationshipChange {
            metric: Metric::Trust,
            old_value: 5,
            new_value: 8,
            reason: "kept a secret".into()
        }
    );
    assert_eq!(
        personabot::store::relationships::relationship(store.reader(), user)
            .await
            .expect("read")
            .get(Metric::Trust),
        8
    );
    // Out of range: the domain error, and nothing written.
    let err = personabot::store::relationships::set_metric(
        store.writer(),
        user,
        Metric::Anger,
        11,
        "rage",
        t,
    )
    .await
    .expect_err("refused");
    assert!(matches!(
        err,
        StoreError::Relationship(RelationshipError::OutOfRange {
            metric: Metric::Anger,
            value: 11,
            ..
        })
    ));
    let err = personabot::store::relationships::set_metric(
        store.writer(),
        user,
        Metric::Formality,
        -6,
        "slang",
        t,
    )
    .await
    .expect_err("refused");
    assert!(matches!(
        err,
        StoreError::Relationship(RelationshipError::OutOfRange { .. })
    ));
    let err = personabot::store::relationships::set_metric(
        store.writer(),
        ServerMember::new(GuildId(1), UserId(6)),
        Metric::Trust,
        -1,
        "new member",
        t,
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, StoreError::Relationship(_)));
    assert_eq!(
        personabot::store::relationships::relationship(store.reader(), user)
            .await
            .expect("read")
            .get(Metric::Anger),
        0
    );
    assert_eq!(
        personabot::store::relationships::relationship_events(store.reader(), user, 10)
            .await
            .expect("events")
            .len(),
        1
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM relationships").await, 1);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM relationship_events").await,
        1
    );
    // An exchange: new values plus their changes, together.
    let next = Relationship::new(1, 6, 8, -1).expect("valid");
    let changes = vec![
        RelationshipChange {
            metric: Metric::Anger,
            old_value: 0,
            new_value: 1,
            reason: "teased".into(),
        },
        RelationshipChange {
            metric: Metric::Rapport,
            old_value: 5,
            new_value: 6,
            reason: "laughed".into(),
        },
    ];
    personabot::store::relationships::save_relationship(
        store.writer(),
        user,
        next,
        &changes,
        t + Duration::minutes(1),
    )
    .await
    .expect("save");
    assert_eq!(
        personabot::store::relationships::relationship(store.reader(), user)
            .await
            .expect("read"),
        next
    );
    let events = personabot::store::relationships::relationship_events(store.reader(), user, 10)
        .await
        .expect("events");
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].change.reason, "kept a secret");
    assert!(events[0].created_at > events[2].created_at);
    assert_eq!(
        personabot::store::relationships::relationship_events(store.reader(), user, 1)
            .await
            .expect("events")
            .len(),
        1
    );
});
