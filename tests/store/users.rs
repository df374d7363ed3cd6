//! Members and the names they were seen under.

use crate::{both_backends, t0};
use chrono::Duration;
use personabot::domain::{GuildId, UserId};
use personabot::store::StoreError;

both_backends!(users_and_names, |store| async move {
    let t = t0();
    personabot::store::users::upsert_user(store.writer(), UserId(7), "sam", false, t)
        .await
        .expect("upsert");
    personabot::store::users::upsert_user(
        store.writer(),
        UserId(7),
        "sam_new",
        false,
        t + Duration::hours(1),
    )
    .await
    .expect("upsert again");
    let user = personabot::store::users::user(store.reader(), UserId(7))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(user.username, "sam_new");
    assert!(user.last_seen_at > user.first_seen_at);
    personabot::store::users::record_name(store.writer(), UserId(7), None, "Sam", t)
        .await
        .expect("name");
    personabot::store::users::record_name(store.writer(), UserId(7), Some(GuildId(1)), "Sammy", t)
        .await
        .expect("nick");
    personabot::store::users::record_name(
        store.writer(),
        UserId(7),
        Some(GuildId(1)),
        "Sammy",
        t + Duration::days(1),
    )
    .await
    .expect("nick again");
    // A member seen only through a name gets a users row too.
    personabot::store::users::record_name(store.writer(), UserId(8), Some(GuildId(1)), "Alex", t)
        .await
        .expect("new member");
    let names = personabot::store::users::known_names(store.reader(), UserId(7))
        .await
        .expect("names");
    assert_eq!(names.len(), 2);
    assert_eq!(names[0].name, "Sammy");
    assert_eq!(names[0].guild_id, Some(GuildId(1)));
    assert!(names[0].last_seen_at > names[0].first_seen_at);
    assert_eq!(names[1].guild_id, None);
    assert!(matches!(
        personabot::store::users::record_name(store.writer(), UserId(7), None, "   ", t).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        personabot::store::users::known_names(store.reader(), UserId(8))
            .await
            .expect("names")
            .len(),
        1
    );
});
