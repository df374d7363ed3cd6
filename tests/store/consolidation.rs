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
