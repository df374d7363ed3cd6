//! Global key/value state and the daily mood.

use crate::{both_backends, t0};
use personabot::store::StoreError;
use std::collections::BTreeMap;

both_backends!(global_state_and_mood, |store| async move {
    let t = t0();
    assert_eq!(
        store.global_get("daily_mood_energy").await.expect("get"),
        None
    );
    store
        .global_set("daily_mood_energy", 7, t)
        .await
        .expect("set");
    store
        .global_set("daily_mood_patience", -2, t)
        .await
        .expect("set");
    store.global_set("daily_moodx", 1, t).await.expect("set");
    store
        .global_set("daily_mood_energy", 8, t)
        .await
        .expect("overwrite");
    store
        .global_set_text("status_line", "watching the rain", t)
        .await
        .expect("text");
    store
        .global_set_text("daily_mood_energy", "perky", t)
        .await
        .expect("text keeps value");
    assert_eq!(
        store.global_get("daily_mood_energy").await.expect("get"),
        Some(8)
    );
    assert_eq!(store.global_get("status_line").await.expect("get"), Some(0));
    assert_eq!(
        store
            .global_text("status_line")
            .await
            .expect("get")
            .as_deref(),
        Some("watching the rain")
    );
    store
        .global_set("daily_mood_energy", 9, t)
        .await
        .expect("set keeps text");
    assert_eq!(
        store
            .global_text("daily_mood_energy")
            .await
            .expect("get")
            .as_deref(),
        Some("perky")
    );
    assert_eq!(
        store.global_add("replies_today", 2, t).await.expect("add"),
        2
    );
    assert_eq!(
        store.global_add("replies_today", 3, t).await.expect("add"),
        5
    );
    let mood = store.mood().await.expect("mood");
    assert_eq!(
        mood,
        BTreeMap::from([
            ("daily_mood_energy".to_owned(), 9),
            ("daily_mood_patience".to_owned(), -2)
        ])
    );
    let list = store.global_list().await.expect("list");
    assert_eq!(
        list.iter().map(|(k, _, _)| k.as_str()).collect::<Vec<_>>(),
        [
            "daily_mood_energy",
            "daily_mood_patience",
            "daily_moodx",
            "replies_today",
            "status_line"
        ]
    );
    for bad in ["", "Upper", "with space", "dash-ed", &"k".repeat(65)] {
        assert!(
            matches!(
                store.global_set(bad, 1, t).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(store.global_list().await.expect("list").len(), 5);
});
