//! Two servers: the default fake world has a second server (`ids::OTHER_GUILD`, channel
//! `ids::OTHER_GENERAL`), and Alice is a member of both. A message there is logged under
//! that server, and a mention there is answered there, not in the first server.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{eventually, logged, posts_to, spawn_bot, wait_for_posts};
use fakes::{Reply, ids};
use personabot::domain::{GuildId, MessageId};

async fn the_second_server_is_logged_and_answered(backend: Backend) {
    let bot = spawn_bot(backend).await;
    bot.openai
        .set_default(Reply::text("Hello from the other server."));
    let said = bot
        .discord
        .user_says(
            ids::OTHER_GENERAL,
            ids::ALICE,
            &format!("<@{}> are you here too?", ids::BOT),
        )
        .await;
    assert_eq!(said["guild_id"], ids::OTHER_GUILD.to_string());
    let id: u64 = said["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("snowflake");

    let posts = wait_for_posts(&bot.discord, ids::OTHER_GENERAL, 1).await;
    assert_eq!(posts[0].content(), Some("Hello from the other server."));
    let row = eventually("alice's message logged", || async {
        logged(&bot, ids::OTHER_GENERAL)
            .await
            .into_iter()
            .find(|m| m.id == MessageId(id))
    })
    .await;
    assert_eq!(row.guild_id, Some(GuildId(ids::OTHER_GUILD)));
    assert!(
        posts_to(&bot.discord, ids::GENERAL).is_empty(),
        "the answer goes to the server it was asked in"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(the_second_server_is_logged_and_answered);

/// The second server's admins nickname the bot "Sparky": members there are answered when
/// they say it, and the model is told so; in the first server, where the bot has no such
/// name, the same words are not addressed to it.
async fn answers_to_its_nickname_in_that_server_only(backend: Backend) {
    let bot = spawn_bot(backend).await;
    bot.openai.set_default(Reply::text("That's me."));
    let renamed = bot.discord.with_world(|world| {
        let guild = world
            .guild_mut(ids::OTHER_GUILD)
            .expect("the second server");
        let me = guild
            .members
            .iter_mut()
            .find(|m| m.user.id == ids::BOT)
            .expect("the bot is a member");
        me.nick = Some("Sparky".into());
        fakes::payloads::guild_member_update_in(ids::OTHER_GUILD, me)
    });
    bot.discord.dispatch("GUILD_MEMBER_UPDATE", renamed).await;

    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, "sparky, are you around?")
        .await;
    // Same channel, in order: once this one is answered the one above was judged.
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, "testbot, are you around?")
        .await;
    wait_for_posts(&bot.discord, ids::GENERAL, 1).await;
    bot.discord
        .user_says(ids::OTHER_GENERAL, ids::ALICE, "Sparky, are you around?")
        .await;
    wait_for_posts(&bot.discord, ids::OTHER_GENERAL, 1).await;
    let asked: Vec<String> = bot
        .openai
        .chat_requests()
        .iter()
        .map(|r| r.last_user_text())
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[0].contains("testbot, are you around"), "{asked:?}");
    assert!(asked[1].contains("Sparky, are you around"), "{asked:?}");
    // The model is told where it is and what it is called there.
    assert!(asked[0].contains("Server: \"Test Guild\""), "{}", asked[0]);
    assert!(!asked[0].contains("nickname"), "{}", asked[0]);
    assert!(asked[1].contains("Server: \"Other Guild\""), "{}", asked[1]);
    assert!(
        asked[1].contains("call you by the nickname: \"Sparky\""),
        "{}",
        asked[1]
    );
    assert_eq!(posts_to(&bot.discord, ids::GENERAL).len(), 1);
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(answers_to_its_nickname_in_that_server_only);
