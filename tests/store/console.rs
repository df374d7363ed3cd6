//! The console's own reads: servers, members of one server, a server's switches, message
//! stamps and the mood of past days.

use crate::{both_backends, fact, msg, t0};
use chrono::Duration;
use personabot::domain::{ChannelId, GuildId, UserId};

both_backends!(servers_members_and_switches, |store| async move {
    let t = t0();
    let mut other = msg(2, 20, 8, t, "hi from elsewhere");
    other.guild_id = Some(GuildId(2));
    personabot::store::messages::append_messages(
        store.writer(),
        &[msg(1, 10, 7, t, "hello"), other],
    )
    .await
    .expect("messages");
    personabot::store::users::record_name(
        store.writer(),
        UserId(7),
        Some(GuildId(1)),
        "Seven<b>",
        t,
    )
    .await
    .expect("nickname");
    personabot::store::facts::insert_fact(
        store.writer(),
        &fact(9, "knows by a fact only"),
        store.embedding_model(),
        t,
    )
    .await
    .expect("fact");
    assert_eq!(
        personabot::store::console::known_servers(store.reader())
            .await
            .expect("servers"),
        vec![GuildId(1), GuildId(2)]
    );
    let members = personabot::store::console::server_members(store.reader(), GuildId(1), "")
        .await
        .expect("members");
    let ids: Vec<u64> = members.iter().map(|m| m.user_id.0).collect();
    assert!(
        ids.contains(&7) && ids.contains(&9) && !ids.contains(&8),
        "{ids:?}"
    );
    let seven = members.iter().find(|m| m.user_id == UserId(7)).expect("7");
    assert_eq!(seven.nickname.as_deref(), Some("Seven<b>"));
    let found = personabot::store::console::server_members(store.reader(), GuildId(1), "seven")
        .await
        .expect("search");
    assert_eq!(found.len(), 1);

    personabot::store::settings::set_channel_enabled(
        store.writer(),
        Some(GuildId(1)),
        ChannelId(11),
        Some(false),
        t,
    )
    .await
    .expect("channel off");
    let switches = personabot::store::console::server_switches(store.reader(), GuildId(1))
        .await
        .expect("switches");
    assert_eq!(switches.enabled, None);
    let channels: Vec<(u64, Option<bool>)> = switches
        .channels
        .iter()
        .map(|c| (c.channel.0, c.enabled))
        .collect();
    assert_eq!(channels, vec![(10, None), (11, Some(false))]);

    let stamps = personabot::store::console::message_stamps(
        store.reader(),
        Some(GuildId(1)),
        t - Duration::hours(1),
    )
    .await
    .expect("stamps");
    assert_eq!(stamps.len(), 1);
});

both_backends!(mood_of_each_day_is_kept, |store| async move {
    let t = t0();
    personabot::store::global_state::roll_mood(
        store.writer(),
        &[("daily_mood_cheer".into(), 6)],
        700_000,
        t,
    )
    .await
    .expect("day one");
    personabot::store::global_state::roll_mood(
        store.writer(),
        &[("daily_mood_cheer".into(), 8)],
        700_001,
        t + Duration::days(1),
    )
    .await
    .expect("day two");
    let history = personabot::store::console::mood_history(store.reader(), 700_000)
        .await
        .expect("history");
    let values: Vec<(i64, i64)> = history.iter().map(|p| (p.day, p.value)).collect();
    assert_eq!(values, vec![(700_000, 6), (700_001, 8)]);
    assert!(
        personabot::store::console::mood_history(store.reader(), 700_001)
            .await
            .expect("since")
            .len()
            == 1
    );
});
