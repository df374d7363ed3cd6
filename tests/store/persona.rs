//! The bot's persona entries.

use crate::{both_backends, t0};
use chrono::Duration;
use personabot::domain::PersonaKind;
use personabot::store::StoreError;

both_backends!(persona_round_trip, |store| async move {
    let t = t0();
    let a = personabot::store::persona::add_persona_entry(
        store.writer(),
        None,
        PersonaKind::Trait,
        "  dry humour  ",
        None,
        t,
    )
    .await
    .expect("add");
    assert_eq!(a.content, "dry humour");
    let b = personabot::store::persona::add_persona_entry(
        store.writer(),
        None,
        PersonaKind::Lore,
        "grew up on a lighthouse",
        None,
        t,
    )
    .await
    .expect("add");
    let edited = personabot::store::persona::edit_persona_entry(
        store.writer(),
        None,
        b.id,
        "grew up on a ferry",
        t + Duration::minutes(1),
    )
    .await
    .expect("edit");
    assert_eq!(edited.created_at, b.created_at);
    assert!(edited.updated_at > edited.created_at);
    let persona = personabot::store::persona::persona(store.reader(), None)
        .await
        .expect("persona");
    assert_eq!(persona.entries, vec![a.clone(), edited.clone()]);
    assert_eq!(persona.of_kind(PersonaKind::Lore).count(), 1);
    assert_eq!(
        personabot::store::persona::layer_entries(store.reader(), None)
            .await
            .expect("get"),
        vec![a.clone(), edited.clone()]
    );
    personabot::store::persona::remove_persona_entry(store.writer(), None, a.id)
        .await
        .expect("remove");
    assert!(matches!(
        personabot::store::persona::remove_persona_entry(store.writer(), None, a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        personabot::store::persona::edit_persona_entry(store.writer(), None, a.id, "x", t).await,
        Err(StoreError::NotFound { .. })
    ));
    // Validation happens before any write.
    let long = "x".repeat(2001);
    assert!(matches!(
        personabot::store::persona::add_persona_entry(
            store.writer(),
            None,
            PersonaKind::Quirk,
            &long,
            None,
            t
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        personabot::store::persona::add_persona_entry(
            store.writer(),
            None,
            PersonaKind::Quirk,
            " \n ",
            None,
            t
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        personabot::store::persona::edit_persona_entry(store.writer(), None, edited.id, "", t)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        personabot::store::persona::persona(store.reader(), None)
            .await
            .expect("persona")
            .entries,
        vec![edited]
    );
});
