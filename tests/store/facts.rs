//! Remembered facts about members, and their embeddings.

use crate::{both_backends, fact, member, t0};
use chrono::Duration;
use personabot::domain::UserId;
use personabot::store::StoreError;

both_backends!(facts_rank_bump_supersede, |store| async move {
    let t = t0();
    let oslo = store
        .insert_fact(&fact(1, "lives in Oslo"), t)
        .await
        .expect("insert");
    let cat = store
        .insert_fact(&fact(1, "has a cat"), t + Duration::minutes(1))
        .await
        .expect("insert");
    store
        .insert_fact(&fact(2, "someone else"), t)
        .await
        .expect("insert");
    assert_eq!(oslo.reference_count, 1);
    let bumped = store
        .bump_fact(oslo.id, t + Duration::minutes(2))
        .await
        .expect("bump");
    assert_eq!(bumped.reference_count, 2);
    let ranked = store
        .facts_of_member(member(1), false)
        .await
        .expect("facts");
    assert_eq!(
        ranked.iter().map(|f| f.id).collect::<Vec<_>>(),
        [oslo.id, cat.id]
    );
    // Contradiction: the old fact stays, marked.
    let bergen = store
        .supersede_fact(oslo.id, &fact(1, "lives in Bergen"), t + Duration::hours(1))
        .await
        .expect("supersede");
    let current = store
        .facts_of_member(member(1), false)
        .await
        .expect("facts");
    assert_eq!(
        current.iter().map(|f| f.fact.as_str()).collect::<Vec<_>>(),
        ["lives in Bergen", "has a cat"]
    );
    let all = store.facts_of_member(member(1), true).await.expect("facts");
    assert_eq!(all.len(), 3);
    let old = store.fact(oslo.id).await.expect("get").expect("kept");
    assert_eq!(old.superseded_by, Some(bergen.id));
    assert_eq!(old.valid_until, Some(bergen.first_mentioned_at));
    assert!(matches!(
        store.supersede_fact(oslo.id, &fact(1, "again"), t).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .supersede_fact(cat.id, &fact(2, "not theirs"), t)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.bump_fact(9_999, t).await,
        Err(StoreError::NotFound { .. })
    ));
    // Edit and delete are scoped to the member.
    let edited = store
        .edit_fact(member(1), cat.id, "has two cats", "pets")
        .await
        .expect("edit");
    assert_eq!(
        (edited.fact.as_str(), edited.category.as_str()),
        ("has two cats", "pets")
    );
    assert!(matches!(
        store.edit_fact(member(2), cat.id, "x", "y").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_fact(member(2), cat.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.insert_fact(&fact(1, &"y".repeat(1001)), t).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.count_facts().await.expect("count"), 4);
    store.delete_fact(member(1), cat.id).await.expect("delete");
    assert_eq!(store.count_facts().await.expect("count"), 3);
    // Another server's facts about the same member are not touched.
    let elsewhere = personabot::domain::NewFact {
        guild_id: personabot::domain::GuildId(2),
        ..fact(1, "likes tea")
    };
    store.insert_fact(&elsewhere, t).await.expect("insert");
    assert!(
        store
            .facts_of_member(member(1), false)
            .await
            .expect("facts")
            .iter()
            .all(|f| f.fact != "likes tea")
    );
    assert_eq!(
        store
            .delete_member_facts(member(1))
            .await
            .expect("delete all"),
        2
    );
    assert_eq!(
        store.facts_of_user(UserId(1)).await.expect("facts").len(),
        1
    );
    store
        .delete_user_fact(
            UserId(1),
            store.facts_of_user(UserId(1)).await.expect("facts")[0].id,
        )
        .await
        .expect("own fact");
    assert_eq!(store.count_facts().await.expect("count"), 1);
});

both_backends!(fact_embeddings_keep_their_model, |store| async move {
    let t = t0();
    let store = store.with_embedding_model("text-embedding-3-small");
    let mut new = fact(1, "likes tea");
    new.embedding = Some(vec![0.25, -1.5, 3.0e-7]);
    let f = store.insert_fact(&new, t).await.expect("insert");
    assert_eq!(f.embedding, new.embedding);
    assert_eq!(
        store
            .fact(f.id)
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        new.embedding
    );
    // Another model's vectors are not handed out for comparison.
    let other = store.clone().with_embedding_model("another-model");
    assert_eq!(
        other
            .fact(f.id)
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        None
    );
    other
        .set_fact_embedding(f.id, "another-model", &[1.0, 2.0])
        .await
        .expect("re-embed");
    assert_eq!(
        other
            .fact(f.id)
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        Some(vec![1.0, 2.0])
    );
});
