//! Nightly consolidation runs and resuming them.

use crate::{both_backends, t0};
use chrono::{Duration, SubsecRound};
use personabot::domain::RunStats;
use personabot::store::StoreError;

both_backends!(consolidation_runs_resume, |store| async move {
    let t = t0();
    assert_eq!(
        personabot::store::consolidation::unfinished_run(
            store.reader(),
            personabot::store::consolidation::ALL
        )
        .await
        .expect("none"),
        None
    );
    let cutoff = t - Duration::hours(24);
    let id = personabot::store::consolidation::start_run(
        store.writer(),
        personabot::store::consolidation::ALL,
        cutoff,
        t,
    )
    .await
    .expect("start");
    assert_eq!(
        personabot::store::consolidation::unfinished_run(
            store.reader(),
            personabot::store::consolidation::ALL
        )
        .await
        .expect("running"),
        Some((id, cutoff.trunc_subsecs(6)))
    );
    let stats = RunStats {
        users_done: 1,
        facts_added: 3,
        facts_bumped: 1,
        messages_archived: 20,
    };
    personabot::store::consolidation::record_run_progress(store.writer(), id, stats)
        .await
        .expect("progress");
    assert_eq!(
        personabot::store::consolidation::run_stats(store.reader(), id)
            .await
            .expect("stats"),
        stats
    );
    personabot::store::consolidation::finish_run(
        store.writer(),
        id,
        t + Duration::minutes(5),
        stats,
    )
    .await
    .expect("finish");
    assert_eq!(
        personabot::store::consolidation::unfinished_run(
            store.reader(),
            personabot::store::consolidation::ALL
        )
        .await
        .expect("done"),
        None
    );
    let failed = personabot::store::consolidation::start_run(
        store.writer(),
        personabot::store::consolidation::ALL,
        t,
        t,
    )
    .await
    .expect("start");
    personabot::store::consolidation::fail_run(store.writer(), failed, t, RunStats::default())
        .await
        .expect("fail");
    assert_eq!(
        personabot::store::consolidation::unfinished_run(
            store.reader(),
            personabot::store::consolidation::ALL
        )
        .await
        .expect("failed is not resumed"),
        None
    );
    assert!(matches!(
        personabot::store::consolidation::finish_run(store.writer(), 999, t, stats).await,
        Err(StoreError::NotFound { .. })
    ));
});

// A group commit retried after its first attempt timed out (but still ran) changes nothing
// twice: no duplicate fact, no second bump, no second archive move.
both_backends!(a_retried_commit_is_idempotent, |store| async move {
    use personabot::domain::{FactChange, MessageId};
    use personabot::ports::store::ConsolidationCommit;
    let t = t0();
    personabot::store::messages::append_messages(
        store.writer(),
        &[
            crate::msg(1, 10, 7, t - Duration::hours(30), "I adopted a cat"),
            crate::msg(2, 10, 7, t - Duration::hours(29), "still love jazz"),
        ],
    )
    .await
    .expect("messages");
    let jazz = personabot::store::facts::insert_fact(
        store.writer(),
        &crate::fact(7, "likes jazz"),
        store.embedding_model(),
        t - Duration::days(3),
    )
    .await
    .expect("seed");
    let run = personabot::store::consolidation::start_run(
        store.writer(),
        personabot::store::consolidation::ALL,
        t,
        t,
    )
    .await
    .expect("run");
    let commit = ConsolidationCommit {
        run_id: run,
        changes: vec![
            FactChange::Add(crate::fact(7, "has a cat")),
            FactChange::Bump(jazz.id),
        ],
        archive: vec![MessageId(1), MessageId(2)],
        forget: Vec::new(),
        progress: RunStats {
            users_done: 1,
            facts_added: 1,
            facts_bumped: 1,
            messages_archived: 0,
        },
        embedding_model: None,
        at: t,
    };
    assert_eq!(
        personabot::store::consolidation::commit(store.writer(), commit.clone())
            .await
            .expect("first"),
        2
    );
    assert_eq!(
        personabot::store::consolidation::commit(store.writer(), commit)
            .await
            .expect("retry"),
        0
    );
    let facts = personabot::store::facts::facts_of_member(
        store.reader(),
        crate::member(7),
        false,
        store.embedding_model(),
    )
    .await
    .expect("facts");
    assert_eq!(facts.len(), 2, "{facts:?}");
    let jazz = facts.iter().find(|f| f.fact == "likes jazz").expect("jazz");
    assert_eq!(jazz.reference_count, 2, "bumped once");
    assert_eq!(
        personabot::store::consolidation::run_stats(store.reader(), run)
            .await
            .expect("stats")
            .messages_archived,
        2
    );
});
