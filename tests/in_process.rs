//! In-process tier: the real actor tree and store (SQLite file), built by
//! `App::start_with_ports` exactly as in production, with stub ports instead of Discord and
//! the model, and events delivered straight to the router. No sockets, so these run in
//! milliseconds and decide things the end-to-end tests can only sample: reply ordering,
//! store round trips per reply, restarts and shutdown.
//!
//! The world has two servers (A and B), a member in both (Alice) and an admin of each.

#[path = "common/stubs.rs"]
mod stubs;

use chrono::Utc;
use personabot::app::{App, Ports};
use personabot::config::{Settings, Sources};
use personabot::domain::{
    BotIdentity, ChannelEvent, ChannelId, GuildId, IncomingMessage, LoggedMessage, MessageId,
    UserId,
};
use personabot::ports::Outgoing;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use stubs::{StubChat, StubModel};

const BOT: u64 = 900;
const ALICE: u64 = 101;
const ADMIN_A: u64 = 201;
const ADMIN_B: u64 = 202;
const GUILD_A: u64 = 1;
const GUILD_B: u64 = 2;
const CHANNEL_A: u64 = 11;
const CHANNEL_B: u64 = 21;
const WAIT: Duration = Duration::from_secs(20);

struct World {
    app: App,
    model: Arc<StubModel>,
    chat: Arc<StubChat>,
    _dir: tempfile::TempDir,
    url: String,
    next: u64,
}

fn settings(url: &str, extra: &[(&str, &str)]) -> Settings {
    let env = [
        ("PERSONABOT__DATABASE__URL", url),
        ("PERSONABOT__BOT__NAME", "testbot"),
        ("PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT", "false"),
        ("PERSONABOT__BOT__ENABLED_BY_DEFAULT", "true"),
        ("PERSONABOT__BOT__LOG_WHEN_DISABLED", "true"),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Settings::load(Sources { file: None, env }).expect("settings")
}

async fn world() -> World {
    world_with(&[]).await
}

async fn world_with(extra: &[(&str, &str)]) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/bot.sqlite?mode=rwc", dir.path().display());
    let model = Arc::new(StubModel::default());
    let chat = Arc::new(StubChat::default());
    let ports = Ports {
        llm: model.clone(),
        chat: chat.clone(),
        bans: chat.clone(),
        connect: None,
    };
    let app = App::start_with_ports(settings(&url, extra), ports)
        .await
        .expect("app starts");
    World {
        app,
        model,
        chat,
        _dir: dir,
        url,
        next: 1,
    }
}

fn bot() -> BotIdentity {
    BotIdentity {
        id: UserId(BOT),
        name: "testbot".into(),
    }
}

impl World {
    /// `author` says `text` in `channel` of `guild`; `at_bot` mentions the bot.
    async fn say(
        &mut self,
        guild: u64,
        channel: u64,
        author: u64,
        text: &str,
        at_bot: bool,
    ) -> MessageId {
        let content = if at_bot {
            format!("<@{BOT}> {text}")
        } else {
            text.to_owned()
        };
        let message = self.message(guild, channel, author, content);
        let id = message.id;
        let incoming = IncomingMessage {
            message,
            mentions: if at_bot {
                vec![UserId(BOT)]
            } else {
                Vec::new()
            },
            mentions_everyone: false,
            replied_to_author: None,
            author_username: format!("user{author}"),
            author_display: None,
        };
        self.app
            .router
            .deliver(ChannelEvent::Message {
                bot: bot(),
                incoming,
            })
            .await;
        id
    }

    /// A new message with a fresh snowflake (carrying the current time).
    fn message(&mut self, guild: u64, channel: u64, author: u64, content: String) -> LoggedMessage {
        self.next += 1;
        let ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
        LoggedMessage {
            id: MessageId(((ms - 1_420_070_400_000) << 22) | (self.next & 0x3fffff)),
            channel_id: ChannelId(channel),
            guild_id: Some(GuildId(guild)),
            author_id: UserId(author),
            author_name: format!("user{author}"),
            is_bot: false,
            content,
            reply_to: None,
            created_at: Utc::now(),
        }
    }

    async fn wait_for_posts(&self, n: usize) -> Vec<Outgoing> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let sent = self.chat.sent.lock().expect("lock").clone();
            if sent.len() >= n || tokio::time::Instant::now() > deadline {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn stored_in(&self, channel: u64) -> usize {
        self.app
            .database
            .recent_messages(
                ChannelId(channel),
                Utc::now() - chrono::Duration::hours(1),
                10_000,
            )
            .await
            .expect("read")
            .len()
    }
}

#[tokio::test]
async fn replies_leave_in_the_order_they_were_asked_per_channel() {
    let mut w = world().await;
    *w.model.first_delay.lock().expect("lock") = Some(Duration::from_millis(150));
    let first = w.say(GUILD_A, CHANNEL_A, ALICE, "one", true).await;
    let second = w.say(GUILD_A, CHANNEL_A, ADMIN_A, "two", true).await;
    let third = w.say(GUILD_A, CHANNEL_A, ALICE, "three", true).await;
    let other = w.say(GUILD_B, CHANNEL_B, ALICE, "elsewhere", true).await;
    let posts = w.wait_for_posts(4).await;
    assert_eq!(posts.len(), 4, "{posts:?}");
    let in_a: Vec<_> = posts
        .iter()
        .filter(|p| p.channel == ChannelId(CHANNEL_A))
        .map(|p| p.reply_to)
        .collect();
    assert_eq!(in_a, vec![Some(first), Some(second), Some(third)]);
    assert!(posts.iter().any(|p| p.reply_to == Some(other)));
    // Each reply only pings the member it answers.
    assert!(posts.iter().all(|p| p.ping.is_some()));
    w.app.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_reply_costs_one_store_round_trip_before_the_model() {
    let mut w = world().await;
    *w.model.store.lock().expect("lock") = Some(w.app.store.clone());
    // The channel's policy is read once, on its first message, then kept.
    w.say(GUILD_A, CHANNEL_A, ALICE, "hello all", false).await;
    w.app.store.flush().await.expect("flush");
    let before = w.app.store.round_trips();
    w.say(GUILD_A, CHANNEL_A, ALICE, "what's up?", true).await;
    let posts = w.wait_for_posts(1).await;
    assert_eq!(posts.len(), 1);
    let at_call = w.model.store_trips_at_call.lock().expect("lock")[0];
    assert_eq!(
        at_call - before,
        1,
        "round trips between the mention and the model call"
    );
    // The trigger was in the prompt although it may not have been written yet.
    assert!(posts[0].text.contains("what's up?"), "{:?}", posts[0].text);
    w.app.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_store_actor_crash_loses_no_accepted_message() {
    let mut w = world().await;
    // Accepted just before the crash: still unwritten when the actor dies.
    for i in 0..50 {
        let a = w.message(GUILD_A, CHANNEL_A, ALICE, format!("before {i}"));
        let b = w.message(GUILD_B, CHANNEL_B, ALICE, format!("before {i}"));
        w.app.store.append_message(a).await;
        w.app.store.append_message(b).await;
    }
    let store = w.app.store.slot().get().expect("store actor running");
    store.kill();
    // Accepted while no StoreActor runs (the supervisor restarts it after a backoff).
    let deadline = tokio::time::Instant::now() + WAIT;
    while w.app.store.slot().get().is_some() && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    for i in 0..50 {
        let a = w.message(GUILD_A, CHANNEL_A, ADMIN_A, format!("after {i}"));
        let b = w.message(GUILD_B, CHANNEL_B, ADMIN_B, format!("after {i}"));
        w.app.store.append_message(a).await;
        w.app.store.append_message(b).await;
    }
    // The supervisor restarts the store: wait until everything has landed (or the deadline
    // passes and the counts below fail).
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut stored = (0, 0);
    while stored != (100, 100) && tokio::time::Instant::now() < deadline {
        let _ = w.app.store.flush().await;
        stored = (w.stored_in(CHANNEL_A).await, w.stored_in(CHANNEL_B).await);
        if stored != (100, 100) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(stored, (100, 100));
    let restarts = w.app.supervisor.restarts().await.expect("restarts");
    assert!(restarts.iter().any(|(_, n)| *n >= 1), "{restarts:?}");
    w.app.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn shutdown_writes_every_accepted_message() {
    let mut w = world().await;
    for i in 0..300 {
        let (guild, channel) = if i % 2 == 0 {
            (GUILD_A, CHANNEL_A)
        } else {
            (GUILD_B, CHANNEL_B)
        };
        w.say(guild, channel, ALICE, &format!("m{i}"), false).await;
    }
    let url = w.url.clone();
    w.app.shutdown().await.expect("shutdown");
    let reopened = personabot::store::Store::connect(&url, Default::default())
        .await
        .expect("reopen");
    let since = Utc::now() - chrono::Duration::hours(1);
    let a = reopened
        .recent_messages(ChannelId(CHANNEL_A), since, 10_000)
        .await
        .expect("read");
    let b = reopened
        .recent_messages(ChannelId(CHANNEL_B), since, 10_000)
        .await
        .expect("read");
    assert_eq!((a.len(), b.len()), (150, 150));
}

#[tokio::test]
async fn turning_the_bot_off_and_on_reaches_the_channel_without_a_restart() {
    let mut w = world().await;
    w.say(GUILD_A, CHANNEL_A, ALICE, "hi", true).await;
    assert_eq!(w.wait_for_posts(1).await.len(), 1);
    w.app
        .store
        .set_guild_enabled(GuildId(GUILD_A), false)
        .await
        .expect("set");
    w.app.router.policy_changed(None).await;
    let ignored = w.say(GUILD_A, CHANNEL_A, ALICE, "still there?", true).await;
    // The channel logs the mention once it has read the new policy (logging while off is
    // on here): only then is the bot turned back on, or the read could see that instead.
    let deadline = tokio::time::Instant::now() + WAIT;
    while w.stored_in(CHANNEL_A).await < 3 && tokio::time::Instant::now() < deadline {
        w.app.store.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    w.app
        .store
        .set_guild_enabled(GuildId(GUILD_A), true)
        .await
        .expect("set");
    w.app.router.policy_changed(None).await;
    // The channel handles its mailbox in order: off, the mention, on, the next mention.
    let answered = w.say(GUILD_A, CHANNEL_A, ALICE, "back?", true).await;
    let posts = w.wait_for_posts(2).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[1].reply_to, Some(answered));
    assert!(posts.iter().all(|p| p.reply_to != Some(ignored)));
    assert_eq!(w.model.calls.load(Ordering::SeqCst), 2);
    w.app.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn idle_channels_free_their_actors_and_come_back() {
    let mut w = world_with(&[("PERSONABOT__BOT__CHANNEL_IDLE_SECS", "1")]).await;
    const CHANNELS: u64 = 200;
    for c in 0..CHANNELS {
        w.say(GUILD_A, 10_000 + c, ALICE, "anyone here?", false)
            .await;
    }
    let live = w.app.router.channel_count().await.expect("count");
    assert!(live > 0, "channels are live while active");
    let deadline = tokio::time::Instant::now() + WAIT;
    while w.app.router.channel_count().await.expect("count") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "idle channels never stopped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing was lost, and a quiet channel answers again when addressed.
    w.app.store.flush().await.expect("flush");
    for c in [0, CHANNELS / 2, CHANNELS - 1] {
        assert_eq!(w.stored_in(10_000 + c).await, 1);
    }
    w.say(GUILD_A, 10_000, ALICE, "still there?", true).await;
    let posts = w.wait_for_posts(1).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(w.app.router.channel_count().await.expect("count"), 1);
    w.app.shutdown().await.expect("shutdown");
}
