//! Utility commands (/poll, /userinfo, /serverinfo, /stats) and support tickets.

use super::{refused, run};
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, spawn_bot_with};
use fakes::{ids, opt};
use personabot::domain::{ChannelId, UserId};
use serde_json::json;

/// /poll, /userinfo, /serverinfo, /stats, and a ticket opened and closed with its transcript.
async fn utility_and_ticket_commands(backend: Backend) {
    let staff = ids::MODERATOR_ROLE.to_string();
    let bot = spawn_bot_with(
        backend,
        &[("PERSONABOT__BOT__TICKET_STAFF_ROLE_ID", &staff)],
    )
    .await;

    let poll = run(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "poll",
        json!([
            opt::string("question", "Tea or coffee?"),
            opt::string("answers", "tea | coffee | water"),
            opt::integer("hours", 2)
        ]),
    )
    .await;
    let p = &poll.data["poll"];
    assert_eq!(
        p["question"]["text"],
        json!("Tea or coffee?"),
        "{}",
        poll.data
    );
    let answers: Vec<&str> = p["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .filter_map(|a| a["poll_media"]["text"].as_str())
        .collect();
    assert_eq!(answers, ["tea", "coffee", "water"]);
    assert_eq!(p["duration"], json!(2));
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "poll",
        json!([
            opt::string("question", "?"),
            opt::string("answers", "only one")
        ]),
        "at least two answers",
    )
    .await;

    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, "hello all")
        .await;
    crate::support::eventually("alice's name recorded", || async {
        let names =
            personabot::store::users::known_names(bot.app.database.reader(), UserId(ids::ALICE))
                .await
                .ok()?;
        (!names.is_empty()).then_some(())
    })
    .await;
    let info = run(
        &bot,
        ids::GENERAL,
        ids::BOB,
        "userinfo",
        json!([opt::user("member", ids::ALICE)]),
    )
    .await;
    for needle in [
        "Account created",
        "Joined the server",
        &format!("<@&{}>", ids::MEMBER_ROLE),
        "Known names: alice",
    ] {
        assert!(info.text().contains(needle), "{needle} in {}", info.text());
    }
    let server = run(&bot, ids::GENERAL, ids::BOB, "serverinfo", json!([])).await;
    assert!(
        server.text().contains("Test Guild") && server.text().contains("Roles: 4"),
        "{}",
        server.text()
    );
    let stats = run(&bot, ids::GENERAL, ids::BOB, "stats", json!([])).await;
    assert!(
        !stats.text().contains("Messages logged today: 0"),
        "{}",
        stats.text()
    );
    for needle in [
        "Messages logged today:",
        "Facts remembered: 0",
        "Uptime:",
        "Roles: 4",
    ] {
        assert!(
            stats.text().contains(needle),
            "{needle} in {}",
            stats.text()
        );
    }

    // A ticket: private thread, the member added, the staff role pinged into it.
    let open = run(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "ticket open",
        json!([opt::string("subject", "printer on fire")]),
    )
    .await;
    assert!(
        open.ephemeral() && open.text().contains("Ticket #1 opened"),
        "{}",
        open.text()
    );
    let create = bot
        .discord
        .wait_for_request(|r| r.is("POST", "/channels/4000/threads"), WAIT)
        .await
        .expect("thread created");
    assert_eq!(
        create.body.as_ref().map(|b| b["type"].clone()),
        Some(json!(12))
    );
    let thread = bot.discord.world().threads()[0].id;
    bot.discord
        .wait_for_request(
            |r| {
                r.is(
                    "PUT",
                    &format!("/channels/{thread}/thread-members/{}", ids::ALICE),
                )
            },
            WAIT,
        )
        .await
        .expect("member added");
    let hello = bot
        .discord
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{thread}/messages")),
            WAIT,
        )
        .await
        .expect("opening message");
    assert!(
        hello
            .content()
            .is_some_and(|c| c.contains(&format!("<@&{}>", ids::MODERATOR_ROLE)))
    );
    assert_eq!(
        hello
            .body
            .as_ref()
            .map(|b| b["allowed_mentions"]["roles"].clone()),
        Some(json!([staff]))
    );
    bot.discord
        .user_says(thread, ids::ALICE, "the printer is still burning")
        .await;
    refused(
        &bot,
        thread,
        ids::BOB,
        "ticket close",
        json!([]),
        "Only the member who opened",
    )
    .await;
    let close = run(&bot, thread, ids::ALICE, "ticket close", json!([])).await;
    assert!(
        close.text().contains("Ticket #1 closed"),
        "{}",
        close.text()
    );
    let archive = bot
        .discord
        .wait_for_request(|r| r.is("PATCH", &format!("/channels/{thread}")), WAIT)
        .await
        .expect("archived");
    assert_eq!(
        archive
            .body
            .as_ref()
            .map(|b| (b["archived"].clone(), b["locked"].clone())),
        Some((json!(true), json!(true)))
    );
    let ticket =
        personabot::store::tickets::ticket_by_thread(bot.app.database.reader(), ChannelId(thread))
            .await
            .expect("read")
            .expect("ticket");
    let transcript = ticket.transcript.expect("transcript");
    assert!(
        transcript.contains("alice: the printer is still burning"),
        "{transcript}"
    );
    assert!(transcript.contains("opened ticket #1"), "{transcript}");
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "ticket close",
        json!([]),
        "inside the ticket's thread",
    )
    .await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(utility_and_ticket_commands);
