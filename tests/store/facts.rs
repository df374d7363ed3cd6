//! Remembered facts about members, and their embeddings.

use crate::{both_backends, fact, member, t0};
use chrono::Duration;
use personabot::domain::UserId;
use personabot::store::StoreError;

both_backends!(facts_rank_bump_supersede, |store| async move {
    let t = t0();
    let oslo = personabot::store::facts::insert_fact(
        store.writer(),
        &fact(1, "lives in Oslo"),
        store.embedding_model(),
        t,
    )
    .await
    .expect("insert");
    let cat = personabot::store::facts::insert_fact(
        store.writer(),
        &fact(1, "has a cat"),
        store.embedding_model(),
        t + Duration::minutes(1),
    )
    .await
    .expect("insert");
    personabot::store::facts::insert_fact(
        store.writer(),
        &fact(2, "someone else"),
        store.embedding_model(),
        t,
    )
    .await
    .expect("insert");
    assert_eq!(oslo.reference_count, 1);
    let bumped = personabot::store::facts::bump_fact(
        store.writer(),
        oslo.id,
        store.embedding_model(),
        t + Duration::minutes(2),
    )
    .await
    .expect("bump");
    assert_eq!(bumped.reference_count, 2);
    let ranked = personabot::store::facts::facts_of_member(
        store.reader(),
        member(1),
        false,
        store.embedding_model(),
    )
    .await
    .expect("facts");
    assert_eq!(
        ranked.iter().map(|f| f.id).collect::<Vec<_>>(),
        [oslo.id, cat.id]
    );
    // Contradiction: the old fact stays, marked.
    let bergen = personabot::store::facts::supersede_fact(
        store.writer(),
        oslo.id,
        &fact(1, "lives in Bergen"),
        store.embedding_model(),
        t + Duration::hours(1),
    )
    .await
    .expect("supersede");
    let current = personabot::store::facts::facts_of_member(
        store.reader(),
        member(1),
        false,
        store.embedding_model(),
    )
    .await
    .expect("facts");
    assert_eq!(
        current.iter().map(|f| f.fact.as_str()).collect::<Vec<_>>(),
        ["lives in Bergen", "has a cat"]
    );
    let all = personabot::store::facts::facts_of_member(
        store.reader(),
        member(1),
        true,
        store.embedding_model(),
    )
    .await
    .expect("facts");
    assert_eq!(all.len(), 3);
    let old = personabot::store::facts::fact(store.reader(), oslo.id, store.embedding_model())
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(old.superseded_by, Some(bergen.id));
    assert_eq!(old.valid_until, Some(bergen.first_mentioned_at));
    assert!(matches!(
        personabot::store::facts::supersede_fact(
            store.writer(),
            oslo.id,
            &fact(1, "again"),
            store.embedding_model(),
            t
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        personabot::store::facts::supersede_fact(
            store.writer(),
            cat.id,
            &fact(2, "not theirs"),
            store.embedding_model(),
            t
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        personabot::store::facts::bump_fact(store.writer(), 9_999, store.embedding_model(), t)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // Edit and delete are scoped to the member.
    let edited = personabot::store::facts::edit_fact(
        store.writer(),
        member(1),
        cat.id,
        "has two cats",
        "pets",
        store.embedding_model(),
    )
    .await
    .expect("edit");
    assert_eq!(
        (edited.fact.as_str(), edited.category.as_str()),
        ("has two cats", "pets")
    );
    assert!(matches!(
        personabot::store::facts::edit_fact(
            store.writer(),
            member(2),
            cat.id,
            "x",
            "y",
            store.embedding_model()
        )
        .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        personabot::store::facts::delete_fact(store.writer(), member(2), cat.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        personabot::store::facts::insert_fact(
            store.writer(),
            &fact(1, &"y".repeat(1001)),
            store.embedding_model(),
            t
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        personabot::store::facts::count_facts(store.reader())
            .await
            .expect("count"),
        4
    );
    personabot::store::facts::delete_fact(store.writer(), member(1), cat.id)
        .await
        .expect("delete");
    assert_eq!(
        personabot::store::facts::count_facts(store.reader())
            .await
            .expect("count"),
        3
    );
    // Another server's facts about the same member are not touched.
    let elsewhere = personabot::domain::NewFact {
        guild_id: personabot::domain::GuildId(2),
        ..fact(1, "likes tea")
    };
    personabot::store::facts::insert_fact(store.writer(), &elsewhere, store.embedding_model(), t)
        .await
        .expect("insert");
    // Per server, current facts only: server 1 holds 3 (one of them superseded), server 2 one.
    let count_in = |g| {
        personabot::store::facts::count_facts_in(store.reader(), personabot::domain::GuildId(g))
    };
    assert_eq!(count_in(1).await.expect("count"), 2);
    assert_eq!(count_in(2).await.expect("count"), 1);
    assert_eq!(count_in(3).await.expect("count"), 0);
    assert!(
        personabot::store::facts::facts_of_member(
            store.reader(),
            member(1),
            false,
            store.embedding_model()
        )
        .await
        .expect("facts")
        .iter()
        .all(|f| f.fact != "likes tea")
    );
    assert_eq!(
        personabot::store::facts::delete_member_facts(store.writer(), member(1))
            .await
            .expect("delete all"),
        2
    );
    assert_eq!(
        personabot::store::facts::facts_of_user(store.reader(), UserId(1), store.embedding_model())
            .await
            .expect("facts")
            .len(),
        1
    );
    personabot::store::facts::delete_user_fact(
        store.writer(),
        UserId(1),
        personabot::store::facts::facts_of_user(store.reader(), UserId(1), store.embedding_model())
            .await
            .expect("facts")[0]
            .id,
    )
    .await
    .expect("own fact");
    assert_eq!(
        personabot::store::facts::count_facts(store.reader())
            .await
            .expect("count"),
        1
    );
});

both_backends!(fact_embeddings_keep_their_model, |store| async move {
    let t = t0();
    let store = store.with_embedding_model("text-embedding-3-small");
    let mut new = fact(1, "likes tea");
    new.embedding = Some(vec![0.25, -1.5, 3.0e-7]);
    let f = personabot::store::facts::insert_fact(store.writer(), &new, store.embedding_model(), t)
        .await
        .expect("insert");
    assert_eq!(f.embedding, new.embedding);
    assert_eq!(
        personabot::store::facts::fact(store.reader(), f.id, store.embedding_model())
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        new.embedding
    );
    // Another model's vectors are not handed out for comparison.
    let other = store.clone().with_embedding_model("another-model");
    assert_eq!(
        personabot::store::facts::fact(other.reader(), f.id, other.embedding_model())
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        None
    );
    personabot::store::facts::set_fact_embedding(
        other.writer(),
        f.id,
        "another-model",
        &[1.0, 2.0],
    )
    .await
    .expect("re-embed");
    assert_eq!(
        personabot::store::facts::fact(other.reader(), f.id, other.embedding_model())
            .await
            .expect("get")
            .and_then(|f| f.embedding),
        Some(vec![1.0, 2.0])
    );
});
