//! Per-server and per-channel bot settings.

use crate::{both_backends, t0};
use personabot::domain::{ChannelId, ChannelPolicy, GuildId};

both_backends!(channel_policy_precedence, |store| async move {
    let t = t0();
    let (g, c) = (GuildId(1), ChannelId(10));
    let default = ChannelPolicy {
        bot_enabled: true,
        proactive_enabled: false,
        persona_name: None,
    };
    assert_eq!(
        personabot::store::settings::channel_policy(store.reader(), Some(g), c, default.clone())
            .await
            .expect("policy"),
        default
    );
    let off = ChannelPolicy {
        bot_enabled: false,
        proactive_enabled: false,
        persona_name: None,
    };
    assert_eq!(
        personabot::store::settings::channel_policy(store.reader(), Some(g), c, off.clone())
            .await
            .expect("policy"),
        off
    );
    // Server off overrides the default.
    personabot::store::settings::set_guild_enabled(store.writer(), g, false, t)
        .await
        .expect("guild");
    assert!(
        !personabot::store::settings::channel_policy(store.reader(), Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    // Channel on overrides the server.
    personabot::store::settings::set_channel_enabled(store.writer(), Some(g), c, Some(true), t)
        .await
        .expect("channel");
    assert!(
        personabot::store::settings::channel_policy(store.reader(), Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    // Back to inheriting.
    personabot::store::settings::set_channel_enabled(store.writer(), Some(g), c, None, t)
        .await
        .expect("channel");
    assert!(
        !personabot::store::settings::channel_policy(store.reader(), Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    personabot::store::settings::set_guild_enabled(store.writer(), g, true, t)
        .await
        .expect("guild");
    personabot::store::settings::set_channel_enabled(store.writer(), Some(g), c, Some(false), t)
        .await
        .expect("channel");
    assert!(
        !personabot::store::settings::channel_policy(store.reader(), Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    // Proactive is opt-in and needs the bot enabled.
    personabot::store::settings::set_channel_proactive(store.writer(), Some(g), c, true, t)
        .await
        .expect("proactive");
    assert_eq!(
        personabot::store::settings::channel_policy(store.reader(), Some(g), c, default.clone())
            .await
            .expect("policy"),
        off
    );
    personabot::store::settings::set_channel_enabled(store.writer(), Some(g), c, None, t)
        .await
        .expect("channel");
    assert_eq!(
        personabot::store::settings::channel_policy(store.reader(), Some(g), c, default.clone())
            .await
            .expect("policy"),
        ChannelPolicy {
            bot_enabled: true,
            proactive_enabled: true,
            persona_name: None,
        }
    );
    // DMs (no server) use channel then default.
    assert_eq!(
        personabot::store::settings::channel_policy(
            store.reader(),
            None,
            ChannelId(77),
            default.clone()
        )
        .await
        .expect("policy"),
        default
    );
    // proactive_channels: opted in and not disabled by channel or server.
    personabot::store::settings::set_channel_proactive(
        store.writer(),
        Some(GuildId(2)),
        ChannelId(20),
        true,
        t,
    )
    .await
    .expect("proactive");
    personabot::store::settings::set_guild_enabled(store.writer(), GuildId(2), false, t)
        .await
        .expect("guild off");
    personabot::store::settings::set_channel_proactive(
        store.writer(),
        Some(GuildId(3)),
        ChannelId(30),
        true,
        t,
    )
    .await
    .expect("proactive");
    personabot::store::settings::set_channel_enabled(
        store.writer(),
        Some(GuildId(3)),
        ChannelId(30),
        Some(false),
        t,
    )
    .await
    .expect("channel off");
    personabot::store::settings::set_channel_proactive(
        store.writer(),
        None,
        ChannelId(40),
        true,
        t,
    )
    .await
    .expect("proactive");
    personabot::store::settings::set_channel_proactive(
        store.writer(),
        Some(g),
        ChannelId(50),
        false,
        t,
    )
    .await
    .expect("not opted in");
    assert_eq!(
        personabot::store::settings::proactive_channels(store.reader())
            .await
            .expect("channels"),
        [c, ChannelId(40)]
    );
});
