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
