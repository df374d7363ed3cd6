//! Slash commands through the fake Discord: INTERACTION_CREATE in, the interaction callback
//! (and every REST call the command made) out, with the database checked behind them.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{TestBot, WAIT, spawn_bot, spawn_bot_with};
use fakes::{RecordedRequest, Reply, Rule, ids, opt, payloads};
use personabot::actors::conversation::BotIdentity;
use personabot::chat::ChatError;
use personabot::domain::{ChannelId, GuildId, Metric, NewFact, PersonaKind, Relationship, UserId};
use personabot::moderation::{BanPort, ModerationDeps, UnbanOutcome, lift_due_bans};
use personabot::store::ModAction;
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};

const EPHEMERAL: u64 = 64;

/// A Discord that refuses every unban.
struct Refusing;

#[async_trait::async_trait]
impl BanPort for Refusing {
    async fn unban(&self, _: GuildId, _: UserId, _: &str) -> Result<UnbanOutcome, ChatError> {
        Err(ChatError::Rejected("503 Service Unavailable".into()))
    }
}

/// What the bot answered to one slash command.
struct Answer {
    request: RecordedRequest,
    data: Value,
}

impl Answer {
    fn ephemeral(&self) -> bool {
        self.data["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0
    }

    fn content(&self) -> &str {
        self.data["content"].as_str().unwrap_or_default()
    }

    /// Content, embed titles, descriptions and fields as one text, for assertions.
    fn text(&self) -> String {
        let mut text = self.content().to_owned();
        for e in self.data["embeds"].as_array().into_iter().flatten() {
            for key in ["title", "description"] {
                if let Some(s) = e[key].as_str() {
                    text.push('\n');
                    text.push_str(s);
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "\n{}: {}",
                    f["name"].as_str().unwrap_or_default(),
                    f["value"].as_str().unwrap_or_default()
                ));
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                text.push('\n');
                text.push_str(s);
            }
        }
        text
    }
}

/// Runs `/name` as `invoker` in `channel` and returns the interaction callback.
async fn run(bot: &TestBot, channel: u64, invoker: u64, name: &str, options: Value) -> Answer {
    let handle = bot
        .discord
        .slash_command(channel, invoker, name, options)
        .await;
    let path = format!("/interactions/{}/", handle.id);
    let request = bot
        .discord
        .wait_for_request(|r| r.is("POST", &path), WAIT)
        .await
        .unwrap_or_else(|e| panic!("/{name} was not answered: {e}"));
    let body = request.body.clone().unwrap_or(Value::Null);
    assert_eq!(body["type"], json!(4), "/{name}: {body}");
    Answer {
        data: body["data"].clone(),
        request,
    }
}

/// Asserts a refusal: ephemeral, containing `needle`.
async fn refused(
    bot: &TestBot,
    channel: u64,
    invoker: u64,
    name: &str,
    options: Value,
    needle: &str,
) {
    let a = run(bot, channel, invoker, name, options).await;
    assert!(
        a.ephemeral(),
        "/{name} refusal must be ephemeral: {}",
        a.data
    );
    assert!(
        a.text().contains(needle),
        "/{name}: expected `{needle}` in {}",
        a.text()
    );
}

fn count(bot: &TestBot, method: &str, path: &str) -> usize {
    bot.discord
        .requests()
        .iter()
        .filter(|r| r.is(method, path))
        .count()
}

/// Kick, ban (temporary), unban, timeout, untimeout and modlog: checks, exact REST calls
/// with the audit-log reason, DMs, numbered cases, and the temporary ban lifted on time.
async fn moderation_commands(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database;
    let guild = GuildId(ids::GUILD);

    // Refusals: no permission, the owner, self, and a target not below the invoker.
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "kick",
        json!([opt::user("member", ids::BOB)]),
        "Kick Members",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "ban",
        json!([opt::user("member", ids::OWNER)]),
        "server owner",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "timeout",
        json!([
            opt::user("member", ids::CAROL),
            opt::string("duration", "10m")
        ]),
        "yourself",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "kick",
        json!([opt::user("member", ids::BOT)]),
        "myself",
    )
    .await;
    // Bob becomes a moderator too: same top role as Carol, so she may not act on him.
    let bob = bot.discord.with_world(|w| {
        let m = w.member_mut(ids::BOB).expect("bob");
        m.roles = vec![ids::MODERATOR_ROLE, ids::MEMBER_ROLE];
        let m = m.clone();
        payloads::guild_member_update(w, &m)
    });
    bot.discord.dispatch("GUILD_MEMBER_UPDATE", bob).await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "kick",
        json!([opt::user("member", ids::BOB)]),
        "highest role must be above",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "timeout",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("duration", "29d")
        ]),
        "at most 4w",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "ban",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("reason", &"x".repeat(401))
        ]),
        "limit is 400",
    )
    .await;
    assert_eq!(
        count(&bot, "DELETE", "/guilds/2000/members/"),
        0,
        "no kick happened"
    );
    assert_eq!(
        count(&bot, "PUT", "/guilds/2000/bans/"),
        0,
        "no ban happened"
    );
    assert_eq!(
        count(&bot, "PATCH", "/guilds/2000/members/"),
        0,
        "no timeout happened"
    );
    assert!(
        db.cases_for(guild, UserId(ids::ALICE))
            .await
            .expect("cases")
            .is_empty()
    );

    // Timeout: PATCH with the end time and the reason in the audit log; the member is told.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "timeout",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("duration", "10m"),
            opt::string("reason", "flooding")
        ]),
    )
    .await;
    assert!(a.text().contains("Case #1 · Timeout"), "{}", a.text());
    let patch = bot
        .discord
        .wait_for_request(|r| r.is("PATCH", "/guilds/2000/members/3000"), WAIT)
        .await
        .expect("timeout sent");
    assert_eq!(patch.audit_reason(), Some("flooding (by carol)"));
    let until = patch
        .body
        .as_ref()
        .and_then(|b| b["communication_disabled_until"].as_str())
        .expect("until")
        .to_owned();
    let until = chrono::DateTime::parse_from_rfc3339(&until).expect("rfc3339");
    let minutes = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((8..=10).contains(&minutes), "{minutes}");
    let dm = bot
        .discord
        .wait_for_request(|r| r.is("POST", "/users/@me/channels"), WAIT)
        .await
        .expect("DM opened");
    assert_eq!(
        dm.body.as_ref().map(|b| b["recipient_id"].clone()),
        Some(json!(ids::ALICE.to_string()))
    );
    let dm_channel = bot
        .discord
        .world()
        .dm_channel_with(ids::ALICE)
        .expect("dm channel")
        .id;
    let dm_text = bot
        .discord
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{dm_channel}/messages")),
            WAIT,
        )
        .await
        .expect("DM sent");
    assert!(dm_text.content().is_some_and(
        |c| c.contains("timed out in **Test Guild** for 10m") && c.contains("flooding")
    ));

    // Untimeout once the gateway echo reached the cache.
    crate::support::eventually("the timeout in the cache", || async {
        let a = run(
            &bot,
            ids::GENERAL,
            ids::CAROL,
            "untimeout",
            json!([opt::user("member", ids::ALICE), opt::boolean("dm", false)]),
        )
        .await;
        a.text().contains("Case #2 · Timeout lifted").then_some(())
    })
    .await;
    let lift = bot
        .discord
        .wait_for_request(
            |r| {
                r.is("PATCH", "/guilds/2000/members/3000")
                    && r.body
                        .as_ref()
                        .is_some_and(|b| b["communication_disabled_until"].is_null())
            },
            WAIT,
        )
        .await
        .expect("untimeout sent");
    assert_eq!(lift.audit_reason(), Some("No reason given (by carol)"));

    // A two-day ban deleting a day of messages.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "ban",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("reason", "spam links"),
            opt::string("duration", "2d"),
            opt::integer("delete_days", 1)
        ]),
    )
    .await;
    assert!(!a.ephemeral());
    assert!(
        a.text().contains("Case #3 · Ban") && a.text().contains("spam links"),
        "{}",
        a.text()
    );
    let put = bot
        .discord
        .wait_for_request(|r| r.is("PUT", "/guilds/2000/bans/3000"), WAIT)
        .await
        .expect("ban sent");
    assert_eq!(put.audit_reason(), Some("spam links (by carol)"));
    assert_eq!(
        put.query_param("delete_message_seconds").as_deref(),
        Some("86400")
    );
    assert!(bot.discord.world().is_banned(ids::ALICE));
    let cases = db
        .cases_for(guild, UserId(ids::ALICE))
        .await
        .expect("cases");
    let actions: Vec<ModAction> = cases.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [ModAction::Timeout, ModAction::Untimeout, ModAction::Ban]
    );
    let ban = &cases[2];
    assert_eq!(
        (ban.case_number, ban.moderator_id, ban.reason.as_deref()),
        (3, UserId(ids::CAROL), Some("spam links"))
    );
    let expires = ban.expires_at.expect("temporary");
    assert!(
        (expires - chrono::Utc::now() - chrono::Duration::days(2))
            .num_seconds()
            .abs()
            < 60
    );

    // /modlog lists the cases, ephemerally; members without moderation rights are refused.
    let log = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "modlog",
        json!([opt::user("member", ids::ALICE)]),
    )
    .await;
    assert!(log.ephemeral());
    for needle in [
        "**#1** Timeout",
        "**#2** Timeout lifted",
        "**#3** Ban",
        "3 case(s)",
    ] {
        assert!(log.text().contains(needle), "{needle} in {}", log.text());
    }
    refused(
        &bot,
        ids::GENERAL,
        ids::OTHERBOT,
        "modlog",
        json!([opt::user("member", ids::ALICE)]),
        "Kick Members",
    )
    .await;

    // The temporary ban is lifted by the step, on a mocked clock, not before it is due.
    let deps = ModerationDeps {
        store: bot.app.store.clone(),
        discord: Arc::new(
            serenity::all::HttpBuilder::new("fake-token")
                .proxy(bot.discord.rest_base())
                .ratelimiter_disabled(true)
                .build(),
        ),
        bot: Arc::new(RwLock::new(Some(BotIdentity {
            id: UserId(ids::BOT),
            name: "testbot".into(),
        }))),
    };
    let now = chrono::Utc::now();
    // Discord refusing the unban (an outage, a lost permission): the ban stays due.
    let failing = ModerationDeps {
        store: bot.app.store.clone(),
        discord: Arc::new(Refusing),
        bot: deps.bot.clone(),
    };
    assert!(
        lift_due_bans(&failing, now + chrono::Duration::days(3))
            .await
            .expect("tick")
            .is_empty()
    );
    assert!(
        db.cases_for(guild, UserId(ids::ALICE))
            .await
            .expect("cases")[2]
            .lifted_at
            .is_none()
    );
    assert!(
        lift_due_bans(&deps, now + chrono::Duration::days(1))
            .await
            .expect("tick")
            .is_empty()
    );
    assert!(bot.discord.world().is_banned(ids::ALICE));
    let lifted = lift_due_bans(&deps, now + chrono::Duration::days(3))
        .await
        .expect("tick");
    assert_eq!(lifted.len(), 1);
    assert_eq!(
        (lifted[0].unban.case_number, lifted[0].unban.moderator_id),
        (4, UserId(ids::BOT))
    );
    let unban = bot
        .discord
        .wait_for_request(|r| r.is("DELETE", "/guilds/2000/bans/3000"), WAIT)
        .await
        .expect("unban sent");
    assert_eq!(
        unban.audit_reason(),
        Some("Temporary ban (case #3) expired")
    );
    assert!(!bot.discord.world().is_banned(ids::ALICE));
    assert!(
        lift_due_bans(&deps, now + chrono::Duration::days(4))
            .await
            .expect("tick")
            .is_empty(),
        "lifted once"
    );

    // Case numbers run per server. A permanent ban of Bob's id (he is senior to Carol, so the owner does it), then /unban.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "ban",
        json!([opt::user("member", ids::BOB), opt::boolean("dm", false)]),
    )
    .await;
    assert!(a.text().contains("Case #5 · Ban"), "{}", a.text());
    let put = bot
        .discord
        .wait_for_request(|r| r.is("PUT", "/guilds/2000/bans/3001"), WAIT)
        .await
        .expect("ban sent");
    assert_eq!(
        put.query_param("delete_message_seconds").as_deref(),
        Some("0")
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "unban",
        json!([
            opt::user("user", ids::BOB),
            opt::string("reason", "appeal accepted")
        ]),
    )
    .await;
    assert!(a.text().contains("Case #6 · Unban"), "{}", a.text());
    let del = bot
        .discord
        .wait_for_request(|r| r.is("DELETE", "/guilds/2000/bans/3001"), WAIT)
        .await
        .expect("unban sent");
    assert_eq!(del.audit_reason(), Some("appeal accepted (by carol)"));
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "unban",
        json!([opt::user("user", ids::BOB)]),
        "not banned",
    )
    .await;
    // Kick: DELETE with the reason; Bob is gone now, so the next kick says so.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "kick",
        json!([
            opt::user("member", ids::OTHERBOT),
            opt::string("reason", "rogue bot")
        ]),
    )
    .await;
    assert!(a.text().contains("Case #7 · Kick"), "{}", a.text());
    let kick = bot
        .discord
        .wait_for_request(|r| r.is("DELETE", "/guilds/2000/members/3002"), WAIT)
        .await
        .expect("kick sent");
    assert_eq!(kick.audit_reason(), Some("rogue bot (by carol)"));
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "timeout",
        json!([opt::user("member", ids::BOB), opt::string("duration", "1h")]),
        "not a member",
    )
    .await;
    // The running app's BanLifter actor does the same on its timer; drive it with a clock.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "ban",
        json!([opt::user("member", ids::BOB), opt::string("duration", "1h")]),
    )
    .await;
    assert!(a.text().contains("Case #8 · Ban"), "{}", a.text());
    let lifted = bot
        .app
        .bans
        .lift_due(Some(chrono::Utc::now() + chrono::Duration::hours(2)))
        .await
        .expect("actor answers")
        .expect("tick");
    assert_eq!(
        lifted.iter().map(|l| l.ban.case_number).collect::<Vec<_>>(),
        [8]
    );
    assert!(!bot.discord.world().is_banned(ids::BOB));
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(moderation_commands);

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
        let names = bot
            .app
            .database
            .known_names(UserId(ids::ALICE))
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
    let ticket = bot
        .app
        .database
        .ticket_by_thread(ChannelId(thread))
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

/// /bot enable|disable|proactive|status: Manage Server only, and the policy really changes.
async fn settings_commands(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database;
    let default = personabot::domain::ChannelPolicy::default();
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "bot disable",
        json!([]),
        "Manage Server",
    )
    .await;
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "bot disable",
        json!([opt::channel("channel", ids::RANDOM)]),
    )
    .await;
    assert!(
        a.ephemeral() && a.text().contains("disabled in <#4001>"),
        "{}",
        a.text()
    );
    let policy = db
        .channel_policy(Some(GuildId(ids::GUILD)), ChannelId(ids::RANDOM), default)
        .await
        .expect("policy");
    assert!(!policy.bot_enabled);
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "bot proactive",
        json!([opt::integer("mode", 0)]),
    )
    .await;
    assert!(
        a.text().contains("start conversations in <#4000>"),
        "{}",
        a.text()
    );
    let status = run(&bot, ids::GENERAL, ids::CAROL, "bot status", json!([])).await;
    assert!(
        status.text().contains("Answers when addressed: ✅ yes")
            && status.text().contains("Speaks up unprompted: ✅ yes"),
        "{}",
        status.text()
    );
    let status = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "bot status",
        json!([opt::channel("channel", ids::RANDOM)]),
    )
    .await;
    assert!(
        status.text().contains("Answers when addressed: ❌ no"),
        "{}",
        status.text()
    );
    run(&bot, ids::GENERAL, ids::CAROL, "bot disable", json!([])).await;
    let policy = db
        .channel_policy(Some(GuildId(ids::GUILD)), ChannelId(ids::GENERAL), default)
        .await
        .expect("policy");
    assert_eq!(
        (policy.bot_enabled, policy.proactive_enabled),
        (false, false)
    );
    run(&bot, ids::GENERAL, ids::CAROL, "bot enable", json!([])).await;
    assert!(
        db.channel_policy(Some(GuildId(ids::GUILD)), ChannelId(ids::GENERAL), default)
            .await
            .expect("policy")
            .bot_enabled
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(settings_commands);

/// /admin: refused for members, persona CRUD with the edit in the very next prompt,
/// range-checked metrics, memories with autocomplete, global state, bad input.
async fn admin_commands(backend: Backend) {
    let admin_role = ids::MODERATOR_ROLE.to_string();
    let bot = spawn_bot_with(backend, &[("PERSONABOT__BOT__ADMIN_ROLE_ID", &admin_role)]).await;
    let db = &bot.app.database;
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "admin persona add",
        json!([opt::integer("kind", 0), opt::string("content", "evil")]),
        "Only administrators",
    )
    .await;
    assert!(db.persona().await.expect("persona").entries.is_empty());

    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin persona add",
        json!([
            opt::integer("kind", 0),
            opt::string("content", "talks like a pirate")
        ]),
    )
    .await;
    assert!(
        a.ephemeral() && a.text().contains("talks like a pirate"),
        "{}",
        a.text()
    );
    let entry = db.persona().await.expect("persona").entries[0].clone();
    assert_eq!(entry.kind, PersonaKind::Trait);
    // The admin role from settings (Carol is a Moderator) may administer too.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona edit",
        json!([
            opt::integer("id", entry.id),
            opt::string("content", "talks like a sea captain")
        ]),
    )
    .await;
    assert!(a.text().contains("sea captain"), "{}", a.text());
    let list = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona list",
        json!([]),
    )
    .await;
    assert!(
        list.text()
            .contains(&format!("`#{}` talks like a sea captain", entry.id)),
        "{}",
        list.text()
    );
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona edit",
        json!([opt::integer("id", 999), opt::string("content", "x")]),
        "no persona entry with id 999",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "admin persona add",
        json!([
            opt::integer("kind", 1),
            opt::string("content", &"y".repeat(2001))
        ]),
        "the limit is 2000",
    )
    .await;
    assert_eq!(db.persona().await.expect("persona").entries.len(), 1);
    // The edit is in the next reply's prompt.
    bot.openai
        .script(Rule::any().reply(Reply::text("Arr, ahoy.")));
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, &format!("<@{}> hi", ids::BOT))
        .await;
    let chat = bot
        .openai
        .wait_for_request(|r| r.is_chat(), WAIT)
        .await
        .expect("a completion");
    let prompt = chat.prompt_text();
    assert!(
        prompt.contains("talks like a sea captain") && !prompt.contains("pirate"),
        "{prompt}"
    );

    // Relationship: out of range refused and nothing written; in range applied and logged.
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin relationship set",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("metric", 2),
            opt::integer("value", 11)
        ]),
        "Trust must be between 0 and 10, got 11",
    )
    .await;
    assert_eq!(
        db.relationship(UserId(ids::ALICE)).await.expect("rel"),
        Relationship::default()
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin relationship set",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("metric", 3),
            opt::integer("value", -4)
        ]),
    )
    .await;
    assert!(
        a.text().contains("formality with alice: 0 → **-4**"),
        "{}",
        a.text()
    );
    assert_eq!(
        db.relationship(UserId(ids::ALICE))
            .await
            .expect("rel")
            .get(Metric::Formality),
        -4
    );
    let show = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin relationship show",
        json!([opt::user("member", ids::ALICE)]),
    )
    .await;
    assert!(show.text().contains("formality: **-4**"), "{}", show.text());

    // Memories: add, autocomplete the id, edit, delete; another member's id is unknown.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory add",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("fact", "likes green tea"),
            opt::string("category", "preference")
        ]),
    )
    .await;
    assert!(a.text().contains("likes green tea"), "{}", a.text());
    let fact = db
        .facts_of_user(UserId(ids::ALICE), false)
        .await
        .expect("facts")[0]
        .clone();
    let ac = bot.discord.autocomplete(ids::GENERAL, ids::OWNER, "admin memory delete", json!([opt::user("member", ids::ALICE), {"name": "id", "type": 4, "value": "gre", "focused": true}])).await;
    let path = format!("/interactions/{}/", ac.id);
    let choices = bot
        .discord
        .wait_for_request(|r| r.is("POST", &path), WAIT)
        .await
        .expect("autocomplete answered");
    let body = choices.body.expect("body");
    assert_eq!(body["type"], json!(8));
    assert_eq!(
        body["data"]["choices"][0]["value"],
        json!(fact.id),
        "{body}"
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory edit",
        json!([
            opt::user("member", ids::ALICE),
            opt::integer("id", fact.id),
            opt::string("fact", "likes jasmine tea")
        ]),
    )
    .await;
    assert!(
        a.text().contains("likes jasmine tea") && a.text().contains("preference"),
        "{}",
        a.text()
    );
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory delete",
        json!([opt::user("member", ids::BOB), opt::integer("id", fact.id)]),
        "no fact with id",
    )
    .await;
    let list = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory list",
        json!([opt::user("member", ids::ALICE)]),
    )
    .await;
    assert!(list.text().contains("likes jasmine tea"), "{}", list.text());
    run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin memory delete",
        json!([opt::user("member", ids::ALICE), opt::integer("id", fact.id)]),
    )
    .await;
    assert!(
        db.facts_of_user(UserId(ids::ALICE), true)
            .await
            .expect("facts")
            .is_empty()
    );

    // Global state.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state set",
        json!([
            opt::string("key", "daily_mood_energy"),
            opt::integer("value", 7),
            opt::string("text", "buzzing")
        ]),
    )
    .await;
    assert!(
        a.text().contains("`daily_mood_energy` = **7** · “buzzing”"),
        "{}",
        a.text()
    );
    assert_eq!(
        db.global_get("daily_mood_energy").await.expect("get"),
        Some(7)
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state get",
        json!([opt::string("key", "daily_mood_energy")]),
    )
    .await;
    assert!(a.text().contains("**7**"), "{}", a.text());
    let list = run(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state list",
        json!([]),
    )
    .await;
    assert!(list.text().contains("daily_mood_energy"), "{}", list.text());
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state set",
        json!([opt::string("key", "Bad Key!"), opt::integer("value", 1)]),
        "not a valid key",
    )
    .await;
    refused(
        &bot,
        ids::GENERAL,
        ids::OWNER,
        "admin state get",
        json!([opt::string("key", "nothing_here")]),
        "no key",
    )
    .await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(admin_commands);

/// /memory show|forget|forget-all|export: a member's own data, ephemerally.
async fn memory_commands(backend: Backend) {
    let bot = spawn_bot(backend).await;
    let db = &bot.app.database;
    let now = chrono::Utc::now();
    let fact = |user: u64, text: &str| NewFact {
        user_id: UserId(user),
        fact: text.into(),
        category: "hobby".into(),
        embedding: None,
    };
    let tea = db
        .insert_fact(&fact(ids::ALICE, "brews tea"), now)
        .await
        .expect("fact");
    db.insert_fact(&fact(ids::ALICE, "climbs rocks"), now)
        .await
        .expect("fact");
    let bobs = db
        .insert_fact(&fact(ids::BOB, "plays oboe"), now)
        .await
        .expect("fact");

    let show = run(&bot, ids::GENERAL, ids::ALICE, "memory show", json!([])).await;
    assert!(show.ephemeral());
    assert!(
        show.text().contains("brews tea")
            && show.text().contains("climbs rocks")
            && !show.text().contains("oboe"),
        "{}",
        show.text()
    );

    let export = run(&bot, ids::GENERAL, ids::ALICE, "memory export", json!([])).await;
    assert!(export.ephemeral());
    let (name, bytes) = export
        .request
        .files
        .first()
        .cloned()
        .expect("a JSON attachment");
    assert!(name.ends_with(".json"), "{name}");
    let data: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(data["user_id"], json!(ids::ALICE));
    assert_eq!(data["facts"].as_array().map(Vec::len), Some(2));

    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget",
        json!([opt::integer("id", bobs.id)]),
        "no fact with id",
    )
    .await;
    assert_eq!(
        db.facts_of_user(UserId(ids::BOB), false)
            .await
            .expect("facts")
            .len(),
        1,
        "bob's fact untouched"
    );
    let a = run(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget",
        json!([opt::integer("id", tea.id)]),
    )
    .await;
    assert!(
        a.ephemeral() && a.text().contains("deleted"),
        "{}",
        a.text()
    );
    assert_eq!(
        db.facts_of_user(UserId(ids::ALICE), false)
            .await
            .expect("facts")
            .len(),
        1
    );
    refused(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget-all",
        json!([]),
        "confirm:yes",
    )
    .await;
    let a = run(
        &bot,
        ids::GENERAL,
        ids::ALICE,
        "memory forget-all",
        json!([opt::string("confirm", "yes")]),
    )
    .await;
    assert!(a.text().contains("deleted 1 fact"), "{}", a.text());
    assert!(
        db.facts_of_user(UserId(ids::ALICE), true)
            .await
            .expect("facts")
            .is_empty()
    );
    assert_eq!(
        db.facts_of_user(UserId(ids::BOB), false)
            .await
            .expect("facts")
            .len(),
        1
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(memory_commands);
