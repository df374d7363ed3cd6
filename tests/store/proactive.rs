//! The record of proactive posts.

use crate::{both_backends, t0};
use chrono::Duration;
use personabot::domain::ProactiveKind;
use personabot::domain::{ChannelId, MessageId};

both_backends!(proactive_posts_counted, |store| async move {
    let t = t0();
    personabot::store::proactive::record_proactive_post(
        store.writer(),
        ChannelId(10),
        Some(MessageId(1)),
        ProactiveKind::Comment,
        t - Duration::hours(3),
    )
    .await
    .expect("post");
    personabot::store::proactive::record_proactive_post(
        store.writer(),
        ChannelId(10),
        None,
        ProactiveKind::Musing,
        t,
    )
    .await
    .expect("post");
    personabot::store::proactive::record_proactive_post(
        store.writer(),
        ChannelId(11),
        None,
        ProactiveKind::Musing,
        t,
    )
    .await
    .expect("post");
    assert_eq!(
        personabot::store::proactive::proactive_posts_since(
            store.reader(),
            ChannelId(10),
            t - Duration::hours(1)
        )
        .await
        .expect("count"),
        1
    );
    assert_eq!(
        personabot::store::proactive::proactive_posts_since(
            store.reader(),
            ChannelId(10),
            t - Duration::hours(4)
        )
        .await
        .expect("count"),
        2
    );
    assert_eq!(
        personabot::store::proactive::proactive_posts_since(
            store.reader(),
            ChannelId(12),
            t - Duration::hours(4)
        )
        .await
        .expect("count"),
        0
    );
});
