//! Support tickets.

use crate::{both_backends, t0};
use chrono::Duration;
use personabot::domain::TicketStatus;
use personabot::domain::{ChannelId, GuildId, UserId};
use personabot::store::StoreError;

both_backends!(tickets_open_and_close, |store| async move {
    let t = t0();
    let opened = personabot::store::tickets::open_ticket(
        store.writer(),
        GuildId(1),
        ChannelId(500),
        UserId(5),
        "cannot post images",
        t,
    )
    .await
    .expect("open");
    assert_eq!(opened.status, TicketStatus::Open);
    assert_eq!(
        personabot::store::tickets::ticket_by_thread(store.reader(), ChannelId(500))
            .await
            .expect("get"),
        Some(opened.clone())
    );
    assert!(matches!(
        personabot::store::tickets::open_ticket(
            store.writer(),
            GuildId(1),
            ChannelId(500),
            UserId(6),
            "dup",
            t
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    let closed = personabot::store::tickets::close_ticket(
        store.writer(),
        ChannelId(500),
        UserId(99),
        "user5: help\nmod: done",
        t + Duration::hours(1),
    )
    .await
    .expect("close");
    assert_eq!(closed.status, TicketStatus::Closed);
    assert_eq!(closed.closed_by, Some(UserId(99)));
    assert_eq!(closed.transcript.as_deref(), Some("user5: help\nmod: done"));
    assert_eq!(
        personabot::store::tickets::ticket_by_thread(store.reader(), ChannelId(500))
            .await
            .expect("get"),
        Some(closed)
    );
    assert!(matches!(
        personabot::store::tickets::close_ticket(store.writer(), ChannelId(500), UserId(99), "", t)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        personabot::store::tickets::close_ticket(store.writer(), ChannelId(501), UserId(99), "", t)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        personabot::store::tickets::ticket_by_thread(store.reader(), ChannelId(501))
            .await
            .expect("get"),
        None
    );
});
