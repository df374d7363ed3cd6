//! REST routes, exercised with serenity's own `Http` client (so every response is
//! deserialized by the real models) and with raw reqwest for wire details.

use std::time::Duration;

use fakes::{Failure, FakeDiscord, RouteMatcher, World, ids};
use serde_json::{Value, json};
use serenity::all as s;

const T: Duration = Duration::from_secs(5);

fn http(fake: &FakeDiscord) -> s::Http {
    let http = s::HttpBuilder::new("fake-token")
        .proxy(fake.rest_base())
        .ratelimiter_disabled(true)
        .build();
    http.set_application_id(s::ApplicationId::new(ids::APPLICATION));
    http
}

fn uid(id: u64) -> s::UserId {
    s::UserId::new(id)
}

const GENERAL: s::ChannelId = s::ChannelId::new(ids::GENERAL);
const GUILD: s::GuildId = s::GuildId::new(ids::GUILD);

#[tokio::test]
async fn startup_routes() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    assert_eq!(http.get_gateway().await.unwrap().url, fake.gateway_url());
    assert_eq!(http.get_bot_gateway().await.unwrap().shards, 1);
    assert_eq!(http.get_current_user().await.unwrap().name, "testbot");
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.owner.unwrap().id, uid(ids::OWNER));
    assert_eq!(http.get_user(uid(ids::BOB)).await.unwrap().name, "bob");

    let cmds = s::Command::set_global_commands(
        &http,
        vec![
            s::CreateCommand::new("ping").description("Pong"),
            s::CreateCommand::new("memory").description("Memory"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(cmds.len(), 2);
    assert_eq!(cmds[0].application_id.get(), ids::APPLICATION);
    assert_eq!(fake.registered_command_id("ping"), Some(cmds[0].id.get()));
    let guild_cmds = GUILD
        .set_commands(
            &http,
            vec![s::CreateCommand::new("mod").description("Moderation")],
        )
        .await
        .unwrap();
    assert_eq!(guild_cmds[0].guild_id, Some(GUILD));
    // A slash command then carries the registered id, as on Discord.
    let handle = fake
        .slash_command(ids::GENERAL, ids::ALICE, "ping", Value::Null)
        .await;
    assert_eq!(handle.payload["data"]["id"], cmds[0].id.to_string());

    let req = fake
        .wait_for_request(|r| r.is("PUT", "/applications/1000/commands"), T)
        .await
        .unwrap();
    assert_eq!(
        req.headers.get("authorization").map(String::as_str),
        Some("Bot fake-token")
    );
    assert_eq!(req.body.unwrap()[0]["name"], "ping");
}

#[tokio::test]
async fn messages_history_edit_delete_reactions_typing() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    let user_msg = fake.user_says(ids::GENERAL, ids::ALICE, "hello bot").await;
    let user_msg_id: u64 = user_msg["id"].as_str().unwrap().parse().unwrap();

    let reply = GENERAL
        .send_message(
            &http,
            s::CreateMessage::new()
                .content("hi <@3000> @everyone")
                .reference_message((GENERAL, s::MessageId::new(user_msg_id)))
                .allowed_mentions(s::CreateAllowedMentions::new())
                .embed(s::CreateEmbed::new().title("t").description("d")),
        )
        .await
        .unwrap();
    assert_eq!(reply.author.id, uid(ids::BOT));
    assert_eq!(
        reply.referenced_message.as_ref().unwrap().id.get(),
        user_msg_id
    );
    assert!(
        !reply.mention_everyone,
        "allowed_mentions forbade @everyone"
    );
    assert!(reply.mentions.is_empty());
    assert_eq!(reply.embeds[0].title.as_deref(), Some("t"));
    let req = fake
        .wait_for_request(|r| r.is("POST", "/channels/4000/messages"), T)
        .await
        .unwrap();
    assert_eq!(
        req.body.as_ref().unwrap()["allowed_mentions"]["parse"],
        json!([])
    );
    assert_eq!(req.content(), Some("hi <@3000> @everyone"));

    // Message::reply pings everyone it can: the fake reflects that.
    let pinging = GENERAL.say(&http, "@everyone <@3001>").await.unwrap();
    assert!(pinging.mention_everyone);
    assert_eq!(pinging.mentions[0].id, uid(ids::BOB));

    let with_file = GENERAL
        .send_message(
            &http,
            s::CreateMessage::new()
                .content("file")
                .add_file(s::CreateAttachment::bytes(b"hello".to_vec(), "a.txt")),
        )
        .await
        .unwrap();
    assert_eq!(with_file.attachments[0].filename, "a.txt");
    let req = fake
        .wait_for_request(|r| !r.files.is_empty(), T)
        .await
        .unwrap();
    assert_eq!(req.files, vec![("a.txt".to_owned(), b"hello".to_vec())]);
    assert_eq!(req.content(), Some("file"));

    let newest = GENERAL
        .messages(&http, s::GetMessages::new().limit(2))
        .await
        .unwrap();
    assert_eq!(
        newest.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![with_file.id, pinging.id]
    );
    let before = GENERAL
        .messages(&http, s::GetMessages::new().before(pinging.id).limit(10))
        .await
        .unwrap();
    assert_eq!(
        before.iter().map(|m| m.id.get()).collect::<Vec<_>>(),
        vec![reply.id.get(), user_msg_id]
    );
    let after = GENERAL
        .messages(
            &http,
            s::GetMessages::new()
                .after(s::MessageId::new(user_msg_id))
                .limit(1),
        )
        .await
        .unwrap();
    assert_eq!(after[0].id, reply.id);

    let edited = GENERAL
        .edit_message(&http, reply.id, s::EditMessage::new().content("edited"))
        .await
        .unwrap();
    assert_eq!(edited.content, "edited");
    assert!(edited.edited_timestamp.is_some());
    let err = GENERAL
        .edit_message(
            &http,
            s::MessageId::new(user_msg_id),
            s::EditMessage::new().content("x"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("another user"), "{err}");

    GENERAL.broadcast_typing(&http).await.unwrap();
    reply.react(&http, '👍').await.unwrap();
    let custom = s::ReactionType::Custom {
        animated: false,
        id: s::EmojiId::new(ids::PARTYBLOB),
        name: Some("partyblob".into()),
    };
    reply.react(&http, custom).await.unwrap();
    let bad = s::ReactionType::Custom {
        animated: false,
        id: s::EmojiId::new(99),
        name: Some("nope".into()),
    };
    assert!(reply.react(&http, bad).await.is_err());
    let req = fake
        .wait_for_request(|r| r.method == "PUT" && r.path.contains("/reactions/"), T)
        .await
        .unwrap();
    assert!(
        req.decoded_path().contains("/reactions/👍/@me"),
        "{}",
        req.decoded_path()
    );
    let stored = GENERAL.message(&http, reply.id).await.unwrap();
    assert_eq!(stored.reactions.len(), 2);

    GENERAL.delete_message(&http, reply.id).await.unwrap();
    assert!(fake.world().message(ids::GENERAL, reply.id.get()).is_none());
    assert!(GENERAL.message(&http, reply.id).await.is_err());
}

#[tokio::test]
async fn threads_and_dms() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    let thread = GENERAL
        .create_thread(
            &http,
            s::CreateThread::new("private chat")
                .kind(s::ChannelType::PrivateThread)
                .invitable(false),
        )
        .await
        .unwrap();
    assert_eq!(thread.kind, s::ChannelType::PrivateThread);
    assert_eq!(thread.parent_id, Some(GENERAL));
    thread
        .id
        .add_thread_member(&http, uid(ids::ALICE))
        .await
        .unwrap();
    let sent = thread.id.say(&http, "in the thread").await.unwrap();
    assert_eq!(sent.channel_id, thread.id);
    let archived = thread
        .id
        .edit_thread(&http, s::EditThread::new().archived(true).locked(true))
        .await
        .unwrap();
    assert!(archived.thread_metadata.unwrap().locked);
    let world = fake.world();
    let stored = world.threads()[0].clone();
    assert!(
        stored
            .thread
            .as_ref()
            .unwrap()
            .members
            .contains(&ids::ALICE)
    );
    assert_eq!(world.messages_in(thread.id.get()).len(), 1);
    assert_eq!(
        thread
            .id
            .to_channel(&http)
            .await
            .unwrap()
            .guild()
            .unwrap()
            .name,
        "private chat"
    );

    let dm = uid(ids::ALICE).create_dm_channel(&http).await.unwrap();
    assert_eq!(dm.recipient.id, uid(ids::ALICE));
    let again = uid(ids::ALICE).create_dm_channel(&http).await.unwrap();
    assert_eq!(dm.id, again.id);
    let m = dm.id.say(&http, "psst").await.unwrap();
    assert!(m.guild_id.is_none());
    let inbound = fake.user_dms(ids::ALICE, "hi bot").await;
    assert_eq!(inbound["channel_id"], dm.id.to_string());
}

#[tokio::test]
async fn interactions_callback_followup_and_original() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    let handle = fake
        .slash_command(
            ids::GENERAL,
            ids::CAROL,
            "ask",
            json!([fakes::opt::string("q", "why")]),
        )
        .await;
    let s::Interaction::Command(cmd) =
        serde_json::from_value::<s::Interaction>(handle.payload.clone()).unwrap()
    else {
        panic!("not a command")
    };
    // A followup before any response is refused, as on Discord.
    assert!(
        cmd.create_followup(
            &http,
            s::CreateInteractionResponseFollowup::new().content("early")
        )
        .await
        .is_err()
    );
    cmd.defer(&http).await.unwrap();
    let again = cmd.defer(&http).await.unwrap_err();
    assert!(
        again.to_string().contains("already been acknowledged"),
        "{again}"
    );
    let follow = cmd
        .create_followup(
            &http,
            s::CreateInteractionResponseFollowup::new().content("done"),
        )
        .await
        .unwrap();
    assert_eq!(follow.content, "done");
    let original = cmd
        .edit_response(
            &http,
            s::EditInteractionResponse::new().content("thinking done"),
        )
        .await
        .unwrap();
    assert_eq!(cmd.get_response(&http).await.unwrap().id, original.id);
    let callback = fake
        .wait_for_request(|r| r.path.ends_with("/callback"), T)
        .await
        .unwrap();
    assert_eq!(callback.body.unwrap()["type"], 5);
    let contents: Vec<String> = fake
        .world()
        .messages_in(ids::GENERAL)
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contents, vec!["done", "thinking done"]);

    let eph = fake
        .slash_command(ids::GENERAL, ids::ALICE, "secret", Value::Null)
        .await;
    let s::Interaction::Command(cmd) =
        serde_json::from_value::<s::Interaction>(eph.payload).unwrap()
    else {
        panic!()
    };
    let msg = s::CreateInteractionResponseMessage::new()
        .content("only you")
        .ephemeral(true);
    cmd.create_response(&http, s::CreateInteractionResponse::Message(msg))
        .await
        .unwrap();
    assert_eq!(
        fake.world().messages_in(ids::GENERAL).len(),
        2,
        "ephemeral replies are not in history"
    );
}

#[tokio::test]
async fn guild_members_moderation_and_emojis() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    let guild = GUILD.to_partial_guild(&http).await.unwrap();
    assert_eq!(guild.name, "Test Guild");
    assert_eq!(GUILD.roles(&http).await.unwrap().len(), 4);
    assert_eq!(GUILD.channels(&http).await.unwrap().len(), 2);
    assert_eq!(
        GUILD.members(&http, Some(100), None).await.unwrap().len(),
        6
    );
    assert_eq!(
        GUILD
            .member(&http, uid(ids::CAROL))
            .await
            .unwrap()
            .roles
            .len(),
        2
    );
    let emojis = GUILD.emojis(&http).await.unwrap();
    assert_eq!(emojis.iter().filter(|e| e.animated).count(), 1);

    let until = s::Timestamp::parse("2030-03-17T17:46:40Z").unwrap();
    let m = GUILD
        .edit_member(
            &http,
            uid(ids::ALICE),
            s::EditMember::new().disable_communication_until_datetime(until),
        )
        .await
        .unwrap();
    assert!(m.communication_disabled_until.is_some());
    assert!(
        fake.world()
            .timeout_of(ids::ALICE)
            .unwrap()
            .starts_with("2030-03-17T17:46:40")
    );
    GUILD
        .edit_member(
            &http,
            uid(ids::ALICE),
            s::EditMember::new().enable_communication(),
        )
        .await
        .unwrap();
    assert_eq!(fake.world().timeout_of(ids::ALICE), None);

    GUILD
        .kick_with_reason(&http, uid(ids::BOB), "being rude")
        .await
        .unwrap();
    let kick = fake
        .wait_for_request(|r| r.is("DELETE", "/members/3001"), T)
        .await
        .unwrap();
    assert_eq!(kick.audit_reason(), Some("being rude"));
    assert!(!fake.world().is_member(ids::BOB));
    let err = GUILD.member(&http, uid(ids::BOB)).await.unwrap_err();
    assert!(err.to_string().contains("Unknown Member"), "{err}");

    GUILD.ban(&http, uid(ids::OTHERBOT), 1).await.unwrap();
    let ban = fake
        .wait_for_request(|r| r.is("PUT", "/bans/3002"), T)
        .await
        .unwrap();
    assert_eq!(
        ban.query_param("delete_message_seconds").as_deref(),
        Some("86400")
    );
    assert!(fake.world().is_banned(ids::OTHERBOT));
    assert!(!fake.world().is_member(ids::OTHERBOT));
    assert_eq!(GUILD.bans(&http, None, None).await.unwrap().len(), 1);
    GUILD.unban(&http, uid(ids::OTHERBOT)).await.unwrap();
    let err = GUILD.unban(&http, uid(ids::OTHERBOT)).await.unwrap_err();
    assert!(err.to_string().contains("Unknown Ban"), "{err}");
}

/// The second server answers for itself: its own guild, roles, channels, members and
/// emojis; a member of the other server is Unknown Member here; bans and timeouts stay in
/// the server they were made in.
#[tokio::test]
async fn second_server_routes_answer_per_server() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    let other = s::GuildId::new(ids::OTHER_GUILD);
    let guild = other.to_partial_guild(&http).await.unwrap();
    assert_eq!(guild.name, "Other Guild");
    assert_eq!(guild.owner_id, uid(ids::OTHER_OWNER));
    assert_eq!(other.roles(&http).await.unwrap().len(), 4);
    let channels = other.channels(&http).await.unwrap();
    assert_eq!(
        channels.keys().map(|c| c.get()).collect::<Vec<_>>(),
        vec![ids::OTHER_GENERAL]
    );
    assert_eq!(
        other.members(&http, Some(100), None).await.unwrap().len(),
        4
    );
    let alice = other.member(&http, uid(ids::ALICE)).await.unwrap();
    assert_eq!(alice.nick.as_deref(), Some("ally"));
    assert_eq!(alice.guild_id, other);
    let err = other.member(&http, uid(ids::CAROL)).await.unwrap_err();
    assert!(err.to_string().contains("Unknown Member"), "{err}");
    let err = GUILD.member(&http, uid(ids::DAVE)).await.unwrap_err();
    assert!(err.to_string().contains("Unknown Member"), "{err}");
    let emojis = other.emojis(&http).await.unwrap();
    assert_eq!(emojis.len(), 1);
    assert_eq!(emojis[0].id.get(), ids::OTHERBLOB);
    let err = s::GuildId::new(2999)
        .to_partial_guild(&http)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Unknown Guild"), "{err}");

    // Channel routes: the message lands in the second server.
    let sent = s::ChannelId::new(ids::OTHER_GENERAL)
        .say(&http, "hello there")
        .await
        .unwrap();
    assert_eq!(sent.guild_id, Some(other));
    assert_eq!(fake.world().messages_in(ids::OTHER_GENERAL).len(), 1);

    // Timeout and ban in the second server leave the first server alone.
    let until = s::Timestamp::parse("2030-03-17T17:46:40Z").unwrap();
    other
        .edit_member(
            &http,
            uid(ids::ALICE),
            s::EditMember::new().disable_communication_until_datetime(until),
        )
        .await
        .unwrap();
    let world = fake.world();
    assert!(world.timeout_in(ids::OTHER_GUILD, ids::ALICE).is_some());
    assert_eq!(world.timeout_of(ids::ALICE), None);
    other.ban(&http, uid(ids::ALICE), 0).await.unwrap();
    let world = fake.world();
    assert!(world.is_banned_in(ids::OTHER_GUILD, ids::ALICE));
    assert!(!world.is_member_in(ids::OTHER_GUILD, ids::ALICE));
    assert!(!world.is_banned(ids::ALICE));
    assert!(world.is_member(ids::ALICE));
    assert_eq!(other.bans(&http, None, None).await.unwrap().len(), 1);
    assert!(GUILD.bans(&http, None, None).await.unwrap().is_empty());
    let guilds = http.get_guilds(None, None).await.unwrap();
    assert_eq!(guilds.len(), 2);
}

#[tokio::test]
async fn failures_rate_limits_and_unknown_routes() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    fake.fail_next(
        RouteMatcher::new("POST", "/channels/4000/messages"),
        Failure::RateLimited {
            retry_after_secs: 1.5,
        },
        1,
    );
    fake.fail_next(RouteMatcher::path("/typing"), Failure::Status(503), 2);
    // Discord's 429 body has no `code`, so serenity reports a decode problem; the status
    // is what a bot branches on.
    match GENERAL.say(&http, "x").await.unwrap_err() {
        s::Error::Http(s::HttpError::UnsuccessfulRequest(resp)) => {
            assert_eq!(resp.status_code.as_u16(), 429)
        }
        other => panic!("expected a 429, got {other:?}"),
    }
    assert!(GENERAL.say(&http, "y").await.is_ok(), "failure is used up");
    assert!(GENERAL.broadcast_typing(&http).await.is_err());
    assert!(GENERAL.broadcast_typing(&http).await.is_err());
    assert!(GENERAL.broadcast_typing(&http).await.is_ok());

    let client = reqwest::Client::new();
    fake.fail_next(
        RouteMatcher::path("/users/@me"),
        Failure::RateLimited {
            retry_after_secs: 2.0,
        },
        1,
    );
    let r = client
        .get(format!("{}/api/v10/users/@me", fake.rest_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"message": "You are being rate limited.", "retry_after": 2.0, "global": false})
    );

    let r = client
        .get(format!("{}/api/v10/nope/1", fake.rest_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(r.headers().contains_key(h), "{h}");
    }
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "404: Not Found", "code": 0})
    );

    let url = format!(
        "{}/api/v10/channels/4000/messages?&limit=1",
        fake.rest_base()
    );
    let listed: Vec<s::Message> = client.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(fake.requests().last().unwrap().query, "limit=1");
}

#[tokio::test]
async fn poll_and_multipart_bodies_are_recorded() {
    let fake = FakeDiscord::start(World::default()).await;
    let http = http(&fake);
    let poll = s::CreatePoll::new()
        .question("Pizza?")
        .answers(vec![
            s::CreatePollAnswer::new().text("yes"),
            s::CreatePollAnswer::new().text("no"),
        ])
        .duration(Duration::from_secs(3600));
    let msg = GENERAL
        .send_message(&http, s::CreateMessage::new().poll(poll))
        .await
        .unwrap();
    let parsed = msg.poll.unwrap();
    assert_eq!(parsed.answers.len(), 2);
    let req = fake
        .wait_for_request(
            |r| r.body.as_ref().is_some_and(|b| b.get("poll").is_some()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(req.body.unwrap()["poll"]["question"]["text"], "Pizza?");

    let mut sub = fake.subscribe();
    GENERAL.broadcast_typing(&http).await.unwrap();
    assert!(sub.recv().await.unwrap().path.ends_with("/typing"));
}
