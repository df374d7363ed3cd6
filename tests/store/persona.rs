//! The bot's persona entries.

use crate::{both_backends, t0};
use chrono::Duration;
use personabot::domain::PersonaKind;
use personabot::store::StoreError;

both_backends!(persona_round_trip, |store| async move {
    let t = t0();
    let a = store
        .add_persona_entry(None, PersonaKind::Trait, "  dry humour  ", None, t)
        .await
        .expect("add");
    assert_eq!(a.content, "dry humour");
    let b = store
        .add_persona_entry(None, PersonaKind::Lore, "grew up on a lighthouse", None, t)
        .await
        .expect("add");
    let edited = store
        .edit_persona_entry(None, b.id, "grew up on a ferry", t + Duration::minutes(1))
        .await
        .expect("edit");
    assert_eq!(edited.created_at, b.created_at);
    assert!(edited.updated_at > edited.created_at);
    let persona = store.persona(None).await.expect("persona");
    assert_eq!(persona.entries, vec![a.clone(), edited.clone()]);
    assert_eq!(persona.of_kind(PersonaKind::Lore).count(), 1);
    assert_eq!(
        store.layer_entries(None).await.expect("get"),
        vec![a.clone(), edited.clone()]
    );
    store
        .remove_persona_entry(None, a.id)
        .await
        .expect("remove");
    assert!(matches!(
        store.remove_persona_entry(None, a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.edit_persona_entry(None, a.id, "x", t).await,
        Err(StoreError::NotFound { .. })
    ));
    // Validation happens before any write.
    let long = "x".repeat(2001);
    assert!(matches!(
        store
            .add_persona_entry(None, PersonaKind::Quirk, &long, None, t)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .add_persona_entry(None, PersonaKind::Quirk, " \n ", None, t)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.edit_persona_entry(None, edited.id, "", t).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.persona(None).await.expect("persona").entries,
        vec![edited]
    );
});
