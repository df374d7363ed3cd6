//! The gateway protocol, driven by a plain tokio-tungstenite client (what serenity uses).

use std::time::Duration;

use fakes::{DiscordOptions, FakeDiscord, World, ids};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
const T: Duration = Duration::from_secs(5);
const INTENTS: u64 = 53_608_189;

async fn connect(fake: &FakeDiscord) -> Ws {
    let (ws, _) = connect_async(format!("{}/?v=10", fake.gateway_url()))
        .await
        .unwrap();
    ws
}

/// The next JSON payload (skipping non-text frames), or the close frame as `{"close": code}`.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(T, ws.next())
            .await
            .expect("gateway went quiet")
            .expect("stream ended")
            .unwrap();
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(frame) => return json!({"close": frame.map(|f| u16::from(f.code))}),
            _ => {}
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string())).await.unwrap();
}

fn identify(token: &str, intents: u64) -> Value {
    json!({"op": 2, "d": {"token": token, "intents": intents, "compress": true, "large_threshold": 250,
        "shard": [0, 1], "properties": {"os": "linux", "browser": "serenity", "device": "serenity"},
        "presence": {"activities": [], "afk": false, "since": {"secs_since_epoch": 1, "nanos_since_epoch": 0}, "status": "online"}}})
}

/// Connects and identifies; returns the socket after READY and the two GUILD_CREATEs (one
/// per server of the default world).
async fn ready_session(fake: &FakeDiscord) -> (Ws, String) {
    let mut ws = connect(fake).await;
    assert_eq!(next(&mut ws).await["op"], 10);
    send(&mut ws, identify("Bot fake-token", INTENTS)).await;
    let ready = next(&mut ws).await;
    assert_eq!(
        (ready["t"].as_str(), ready["s"].as_u64()),
        (Some("READY"), Some(1))
    );
    for (s, id) in [(2, ids::GUILD), (3, ids::OTHER_GUILD)] {
        let guild = next(&mut ws).await;
        assert_eq!(
            (guild["t"].as_str(), guild["s"].as_u64()),
            (Some("GUILD_CREATE"), Some(s))
        );
        assert_eq!(guild["d"]["id"], id.to_string());
    }
    fake.wait_for_ready(T).await.unwrap();
    (ws, ready["d"]["session_id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn handshake_ready_guild_create_and_heartbeat() {
    let options = DiscordOptions {
        heartbeat_interval_ms: 300,
        ..DiscordOptions::default()
    };
    let fake = FakeDiscord::start_with(World::default(), options).await;
    let mut ws = connect(&fake).await;
    let hello = next(&mut ws).await;
    assert_eq!(hello, json!({"op": 10, "d": {"heartbeat_interval": 300}}));
    send(&mut ws, identify("Bot fake-token", INTENTS)).await;
    let ready = next(&mut ws).await;
    assert_eq!(ready["op"], 0);
    assert_eq!(ready["d"]["application"]["id"], "1000");
    assert_eq!(ready["d"]["user"]["username"], "testbot");
    assert_eq!(ready["d"]["resume_gateway_url"], fake.gateway_url());
    let guild = next(&mut ws).await;
    assert_eq!(guild["d"]["name"], "Test Guild");
    assert_eq!(guild["d"]["members"].as_array().unwrap().len(), 6);
    let ready_guilds: Vec<&str> = ready["d"]["guilds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert_eq!(ready_guilds, vec!["2000", "2001"]);
    let other = next(&mut ws).await;
    assert_eq!(other["t"], "GUILD_CREATE");
    assert_eq!(other["d"]["name"], "Other Guild");
    assert_eq!(other["d"]["members"].as_array().unwrap().len(), 4);
    let channels: Vec<&str> = other["d"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(channels, vec!["4100"]);

    send(&mut ws, json!({"op": 1, "d": 2})).await;
    assert_eq!(next(&mut ws).await, json!({"op": 11}));
    send(&mut ws, json!({"op": 3, "d": {"activities": [{"name": "moderating", "type": 0}], "afk": false, "since": null, "status": "online"}})).await;
    let presence = fake.wait_for_gateway(|v| v["op"] == 3, T).await.unwrap();
    assert_eq!(presence["d"]["activities"][0]["name"], "moderating");
    let ops: Vec<u64> = fake
        .gateway_received()
        .iter()
        .filter_map(|v| v["op"].as_u64())
        .collect();
    assert_eq!(ops, vec![2, 1, 3]);

    fake.dispatch(
        "PRESENCE_UPDATE",
        json!({"user": {"id": "3000"}, "status": "idle"}),
    )
    .await;
    let d = next(&mut ws).await;
    assert_eq!(
        (d["t"].as_str(), d["s"].as_u64()),
        (Some("PRESENCE_UPDATE"), Some(4))
    );
}

#[tokio::test]
async fn wrong_token_is_closed_with_4004_and_missing_intents_with_4014() {
    let fake = FakeDiscord::start(World::default()).await;
    let mut ws = connect(&fake).await;
    next(&mut ws).await;
    send(&mut ws, identify("Bot wrong", INTENTS)).await;
    assert_eq!(next(&mut ws).await, json!({"close": 4004}));
    assert_eq!(fake.gateway_closes()[0].0, 4004);
    assert!(
        fake.wait_for_ready(Duration::from_millis(50))
            .await
            .is_err()
    );

    let mut ws = connect(&fake).await;
    next(&mut ws).await;
    send(&mut ws, identify("Bot fake-token", 1)).await;
    assert_eq!(next(&mut ws).await, json!({"close": 4014}));
}

#[tokio::test]
async fn user_says_dispatches_message_create_with_mentions() {
    let fake = FakeDiscord::start(World::default()).await;
    let (mut ws, _) = ready_session(&fake).await;
    let sent = fake
        .user_says(ids::GENERAL, ids::ALICE, "hey <@1000>, how are you?")
        .await;
    let d = next(&mut ws).await;
    assert_eq!(d["t"], "MESSAGE_CREATE");
    assert_eq!(d["s"], 4);
    assert_eq!(d["d"], sent);
    assert_eq!(d["d"]["mentions"][0]["id"], "1000");
    assert_eq!(d["d"]["member"]["roles"][0], ids::MEMBER_ROLE.to_string());
    assert_eq!(fake.world().messages_in(ids::GENERAL).len(), 1);

    let reply = fake
        .user_replies(
            ids::GENERAL,
            ids::BOB,
            "me too",
            sent["id"].as_str().unwrap().parse().unwrap(),
        )
        .await;
    assert_eq!(reply["type"], 19);
    assert_eq!(reply["referenced_message"]["id"], sent["id"]);
    assert_eq!(next(&mut ws).await["d"]["id"], reply["id"]);
}

#[tokio::test]
async fn drop_and_resume_replays_missed_events() {
    let fake = FakeDiscord::start(World::default()).await;
    let (mut ws, session_id) = ready_session(&fake).await;
    fake.user_says(ids::GENERAL, ids::ALICE, "first").await;
    assert_eq!(next(&mut ws).await["s"], 4);

    fake.drop_connection().await;
    // The socket ends without a close handshake.
    let end = tokio::time::timeout(T, ws.next()).await.unwrap();
    assert!(!matches!(end, Some(Ok(Message::Text(_)))));
    // Dispatched while disconnected: must not be lost.
    fake.user_says(ids::GENERAL, ids::BOB, "while you were away")
        .await;

    let mut ws = connect(&fake).await;
    assert_eq!(next(&mut ws).await["op"], 10);
    send(
        &mut ws,
        json!({"op": 6, "d": {"token": "Bot fake-token", "session_id": session_id, "seq": 4}}),
    )
    .await;
    let replayed = next(&mut ws).await;
    assert_eq!(
        (replayed["s"].as_u64(), replayed["d"]["content"].as_str()),
        (Some(5), Some("while you were away"))
    );
    let resumed = next(&mut ws).await;
    assert_eq!(
        (resumed["t"].as_str(), resumed["s"].as_u64()),
        (Some("RESUMED"), Some(6))
    );
    fake.wait_for_resumed(1, T).await.unwrap();
    fake.wait_for_gateway(|v| v["op"] == 6, T).await.unwrap();

    fake.user_says(ids::GENERAL, ids::ALICE, "after").await;
    assert_eq!(next(&mut ws).await["s"], 7);
}

#[tokio::test]
async fn resume_with_unknown_session_is_invalidated_and_events_survive_reidentify() {
    let fake = FakeDiscord::start(World::default()).await;
    // Dispatched before any session: delivered after the first READY.
    fake.user_says(ids::GENERAL, ids::ALICE, "early").await;
    let (mut ws, _) = ready_session(&fake).await;
    assert_eq!(next(&mut ws).await["d"]["content"], "early");

    fake.drop_connection().await;
    let _ = tokio::time::timeout(T, ws.next()).await;
    fake.user_says(ids::GENERAL, ids::ALICE, "missed").await;

    let mut ws = connect(&fake).await;
    next(&mut ws).await;
    send(
        &mut ws,
        json!({"op": 6, "d": {"token": "Bot fake-token", "session_id": "nope", "seq": 3}}),
    )
    .await;
    assert_eq!(next(&mut ws).await, json!({"op": 9, "d": false}));
    send(&mut ws, identify("Bot fake-token", INTENTS)).await;
    assert_eq!(next(&mut ws).await["t"], "READY");
    assert_eq!(next(&mut ws).await["t"], "GUILD_CREATE");
    assert_eq!(next(&mut ws).await["t"], "GUILD_CREATE");
    let carried = next(&mut ws).await;
    assert_eq!(
        (carried["s"].as_u64(), carried["d"]["content"].as_str()),
        (Some(4), Some("missed"))
    );
}

#[tokio::test]
async fn slash_command_dispatches_interaction_with_resolved_user() {
    let fake = FakeDiscord::start(World::default()).await;
    let (mut ws, _) = ready_session(&fake).await;
    let handle = fake
        .slash_command(
            ids::GENERAL,
            ids::CAROL,
            "timeout",
            json!([
                fakes::opt::user("member", ids::ALICE),
                fakes::opt::integer("minutes", 5)
            ]),
        )
        .await;
    let d = next(&mut ws).await;
    assert_eq!(d["t"], "INTERACTION_CREATE");
    assert_eq!(d["d"]["id"], handle.id.to_string());
    assert_eq!(d["d"]["token"], handle.token);
    assert_eq!(
        d["d"]["data"]["resolved"]["users"]["3000"]["username"],
        "alice"
    );
}

fn identify_shard(shard: [u64; 2]) -> Value {
    let mut v = identify("Bot fake-token", INTENTS);
    v["d"]["shard"] = json!(shard);
    v
}

/// Two shards: each IDENTIFY gets the servers of its shard only, and every server's events
/// go to its own shard (DMs to shard 0); `/gateway/bot` tells how many shards to run.
#[tokio::test]
async fn two_shards_each_get_only_their_servers() {
    let options = DiscordOptions {
        shard_count: 2,
        max_concurrency: 2,
        ..DiscordOptions::default()
    };
    let fake = FakeDiscord::start_with(World::sharded(), options).await;
    assert_eq!(fakes::shard_of(ids::GUILD, 2), 0);
    assert_eq!(fakes::shard_of(ids::OTHER_GUILD, 2), 0);
    assert_eq!(fakes::shard_of(ids::FAR_GUILD, 2), 1);
    let bot_gateway: Value =
        reqwest_get(&format!("{}/api/v10/gateway/bot", fake.rest_base())).await;
    assert_eq!(bot_gateway["shards"], 2);
    assert_eq!(bot_gateway["session_start_limit"]["max_concurrency"], 2);

    let mut sessions = Vec::new();
    for (shard, guilds) in [
        (0u64, vec![ids::GUILD, ids::OTHER_GUILD]),
        (1, vec![ids::FAR_GUILD]),
    ] {
        let mut ws = connect(&fake).await;
        assert_eq!(next(&mut ws).await["op"], 10);
        send(&mut ws, identify_shard([shard, 2])).await;
        let ready = next(&mut ws).await;
        assert_eq!(ready["t"], "READY");
        assert_eq!(ready["d"]["shard"], json!([shard, 2]));
        let listed: Vec<String> = ready["d"]["guilds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect();
        let want: Vec<String> = guilds.iter().map(u64::to_string).collect();
        assert_eq!(listed, want, "shard {shard}");
        for id in &guilds {
            let create = next(&mut ws).await;
            assert_eq!(create["t"], "GUILD_CREATE");
            assert_eq!(create["d"]["id"], id.to_string());
        }
        fake.wait_for_shard_ready(u32::try_from(shard).unwrap(), T)
            .await
            .unwrap();
        sessions.push(ws);
    }
    fake.wait_for_ready(T).await.unwrap();
    fake.user_says(ids::FAR_GENERAL, ids::ALICE, "far away")
        .await;
    fake.user_says(ids::GENERAL, ids::ALICE, "close by").await;
    fake.user_dms(ids::ALICE, "direct").await;
    let far = next(&mut sessions[1]).await;
    assert_eq!(far["d"]["content"], "far away");
    assert_eq!(far["s"], 3, "shard 1 has its own sequence");
    let near = next(&mut sessions[0]).await;
    assert_eq!(near["d"]["content"], "close by");
    let dm = next(&mut sessions[0]).await;
    assert_eq!(dm["d"]["content"], "direct");
    assert_eq!((fake.sessions_started(0), fake.sessions_started(1)), (1, 1));
}

/// A wrong shard count is refused (4010), and a sharded bot must say its shard (4011).
#[tokio::test]
async fn bad_or_missing_shard_is_refused() {
    let options = DiscordOptions {
        shard_count: 2,
        ..DiscordOptions::default()
    };
    let fake = FakeDiscord::start_with(World::sharded(), options).await;
    for (payload, code) in [
        (identify_shard([0, 3]), 4010),
        (identify_shard([2, 2]), 4010),
        (
            {
                let mut v = identify("Bot fake-token", INTENTS);
                v["d"].as_object_mut().unwrap().remove("shard");
                v
            },
            4011,
        ),
    ] {
        let mut ws = connect(&fake).await;
        assert_eq!(next(&mut ws).await["op"], 10);
        send(&mut ws, payload).await;
        assert_eq!(next(&mut ws).await["close"], code);
    }
}

async fn reqwest_get(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("Authorization", "Bot fake-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
