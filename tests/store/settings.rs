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
        store
            .channel_policy(Some(g), c, default.clone())
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
        store
            .channel_policy(Some(g), c, off.clone())
            .await
            .expect("policy"),
        off
    );
    // Server off overrides the default.
    store.set_guild_enabled(g, false, t).await.expect("guild");
    assert!(
        !store
            .channel_policy(Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    // Channel on overrides the server.
    store
        .set_channel_enabled(Some(g), c, Some(true), t)
        .await
        .expect("channel");
    assert!(
        store
            .channel_policy(Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    // Back to inheriting.
    store
        .set_channel_enabled(Some(g), c, None, t)
        .await
        .expect("channel");
    assert!(
        !store
            .channel_policy(Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    store.set_guild_enabled(g, true, t).await.expect("guild");
    store
        .set_channel_enabled(Some(g), c, Some(false), t)
        .await
        .expect("channel");
    assert!(
        !store
            .channel_policy(Some(g), c, default.clone())
            .await
            .expect("policy")
            .bot_enabled
    );
    // Proactive is opt-in and needs the bot enabled.
    store
        .set_channel_proactive(Some(g), c, true, t)
        .await
        .expect("proactive");
    assert_eq!(
        store
            .channel_policy(Some(g), c, default.clone())
            .await
            .expect("policy"),
        off
    );
    store
        .set_channel_enabled(Some(g), c, None, t)
        .await
        .expect("channel");
    assert_eq!(
        store
            .channel_policy(Some(g), c, default.clone())
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
        store
            .channel_policy(None, ChannelId(77), default.clone())
            .await
            .expect("policy"),
        default
    );
    // proactive_channels: opted in and not disabled by channel or server.
    store
        .set_channel_proactive(Some(GuildId(2)), ChannelId(20), true, t)
        .await
        .expect("proactive");
    store
        .set_guild_enabled(GuildId(2), false, t)
        .await
        .expect("guild off");
    store
        .set_channel_proactive(Some(GuildId(3)), ChannelId(30), true, t)
        .await
        .expect("proactive");
    store
        .set_channel_enabled(Some(GuildId(3)), ChannelId(30), Some(false), t)
        .await
        .expect("channel off");
    store
        .set_channel_proactive(None, ChannelId(40), true, t)
        .await
        .expect("proactive");
    store
        .set_channel_proactive(Some(g), ChannelId(50), false, t)
        .await
        .expect("not opted in");
    assert_eq!(
        store.proactive_channels().await.expect("channels"),
        [c, ChannelId(40)]
    );
});
