//! Nightly consolidation runs and resuming them.

use crate::{both_backends, t0};
use chrono::{Duration, SubsecRound};
use personabot::domain::RunStats;
use personabot::store::StoreError;

both_backends!(consolidation_runs_resume, |store| async move {
    let t = t0();
    assert_eq!(store.unfinished_run().await.expect("none"), None);
    let cutoff = t - Duration::hours(24);
    let id = store.start_run(cutoff, t).await.expect("start");
    assert_eq!(
        store.unfinished_run().await.expect("running"),
        Some((id, cutoff.trunc_subsecs(6)))
    );
    let stats = RunStats {
        users_done: 1,
        facts_added: 3,
        facts_bumped: 1,
        messages_archived: 20,
    };
    store
        .record_run_progress(id, stats)
        .await
        .expect("progress");
    assert_eq!(store.run_stats(id).await.expect("stats"), stats);
    store
        .finish_run(id, t + Duration::minutes(5), stats)
        .await
        .expect("finish");
    assert_eq!(store.unfinished_run().await.expect("done"), None);
    let failed = store.start_run(t, t).await.expect("start");
    store
        .fail_run(failed, t, RunStats::default())
        .await
        .expect("fail");
    assert_eq!(
        store.unfinished_run().await.expect("failed is not resumed"),
        None
    );
    assert!(matches!(
        store.finish_run(999, t, stats).await,
        Err(StoreError::NotFound { .. })
    ));
});

// A group commit retried after its first attempt timed out (but still ran) changes nothing
// twice: no duplicate fact, no second bump, no second archive move.
both_backends!(a_retried_commit_is_idempotent, |store| async move {
    use personabot::domain::{FactChange, MessageId};
    use personabot::ports::store::ConsolidationCommit;
    let t = t0();
    store
        .append_messages(&[
            crate::msg(1, 10, 7, t - Duration::hours(30), "I adopted a cat"),
            crate::msg(2, 10, 7, t - Duration::hours(29), "still love jazz"),
        ])
        .await
        .expect("messages");
    let jazz = store
        .insert_fact(&crate::fact(7, "likes jazz"), t - Duration::days(3))
        .await
        .expect("seed");
    let run = store.start_run(t, t).await.expect("run");
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
        store
            .commit_consolidation(commit.clone())
            .await
            .expect("first"),
        2
    );
    assert_eq!(store.commit_consolidation(commit).await.expect("retry"), 0);
    let facts = store
        .facts_of_member(crate::member(7), false)
        .await
        .expect("facts");
    assert_eq!(facts.len(), 2, "{facts:?}");
    let jazz = facts.iter().find(|f| f.fact == "likes jazz").expect("jazz");
    assert_eq!(jazz.reference_count, 2, "bumped once");
    assert_eq!(
        store.run_stats(run).await.expect("stats").messages_archived,
        2
    );
});
