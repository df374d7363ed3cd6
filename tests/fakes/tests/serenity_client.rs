//! The real serenity client against the fakes: startup, a message round trip, and a
//! dropped connection that serenity RESUMEs without losing the event sent meanwhile.

use std::time::Duration;

use fakes::{FakeDiscord, World, ids};
use serenity::all as s;

const T: Duration = Duration::from_secs(10);

struct Echo;

#[serenity::async_trait]
impl s::EventHandler for Echo {
    async fn message(&self, ctx: s::Context, msg: s::Message) {
        // The fake echoes the bot's own messages back, like Discord: ignore them.
        if msg.author.bot {
            return;
        }
        let _ = msg
            .channel_id
            .say(&ctx.http, format!("echo: {}", msg.content))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_starts_replies_and_resumes() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = s::HttpBuilder::new("fake-token")
        .proxy(fake.rest_base())
        .ratelimiter_disabled(true)
        .build();
    let intents = s::GatewayIntents::GUILDS
        | s::GatewayIntents::GUILD_MESSAGES
        | s::GatewayIntents::MESSAGE_CONTENT;
    let mut client = s::ClientBuilder::new_with_http(http, intents)
        .event_handler(Echo)
        .await
        .unwrap();
    let shards = client.shard_manager.clone();
    let running = tokio::spawn(async move { client.start().await });

    fake.wait_for_ready(T).await.unwrap();
    let identify = fake.wait_for_gateway(|v| v["op"] == 2, T).await.unwrap();
    assert_eq!(identify["d"]["token"], "Bot fake-token");

    fake.user_says(ids::GENERAL, ids::ALICE, "hi").await;
    let reply = fake
        .wait_for_request(|r| r.content() == Some("echo: hi"), T)
        .await
        .unwrap();
    assert_eq!(reply.path, "/api/v10/channels/4000/messages");

    fake.drop_connection().await;
    fake.user_says(ids::GENERAL, ids::BOB, "while away").await;
    fake.wait_for_resumed(1, T).await.unwrap();
    fake.wait_for_request(|r| r.content() == Some("echo: while away"), T)
        .await
        .unwrap();
    let resume = fake.wait_for_gateway(|v| v["op"] == 6, T).await.unwrap();
    assert!(resume["d"]["seq"].as_u64().unwrap() >= 3);

    let bot_replies = fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", "/messages"))
        .count();
    assert_eq!(
        bot_replies, 2,
        "the bot must not answer its own echoed messages"
    );

    shards.shutdown_all().await;
    let _ = tokio::time::timeout(T, running).await;
}
