//! Moderation commands: kick, ban, unban, timeout, untimeout, modlog, and temporary bans lifted.

use super::{refused, run};
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{TestBot, WAIT, spawn_bot};
use fakes::{ids, opt, payloads};
use personabot::domain::BotIdentity;
use personabot::domain::ChannelId;
use personabot::domain::ModAction;
use personabot::domain::lifting::{LiftPolicy, UnbanFailure};
use personabot::domain::{GuildId, UserId};
use personabot::ports::ChatError;
use personabot::ports::{BanPort, UnbanError, UnbanOutcome};
use personabot::steps::ban_lifting::{BanLiftingDeps, UnrecordedCases, lift_due_bans};
use personabot::steps::standby::Ownership;
use serde_json::json;
use std::sync::{Arc, RwLock};

/// A Discord that refuses every unban.
struct Refusing;

#[async_trait::async_trait]
impl BanPort for Refusing {
    async fn unban(&self, _: GuildId, _: UserId, _: &str) -> Result<UnbanOutcome, UnbanError> {
        Err(UnbanError {
            kind: UnbanFailure::Transient,
            detail: "503 Service Unavailable".into(),
        })
    }

    async fn notify(&self, _: ChannelId, _: &str) -> Result<(), ChatError> {
        Ok(())
    }
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
        personabot::store::modlog::cases_for(db.reader(), guild, UserId(ids::ALICE))
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
    let cases = personabot::store::modlog::cases_for(db.reader(), guild, UserId(ids::ALICE))
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
    let deps = BanLiftingDeps {
        store: Arc::new(bot.app.store.clone()),
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
        policy: LiftPolicy {
            max_refusals: 3,
            max_failures: 8,
            max_failures_per_tick: 20,
            retry_base: chrono::Duration::minutes(1),
            retry_max: chrono::Duration::hours(1),
        },
        unrecorded: UnrecordedCases::default(),
        ownership: Ownership::everything(),
    };
    let now = chrono::Utc::now();
    // Discord refusing the unban (an outage, a lost permission): the ban stays due.
    let failing = BanLiftingDeps {
        store: Arc::new(bot.app.store.clone()),
        discord: Arc::new(Refusing),
        bot: deps.bot.clone(),
        policy: deps.policy,
        unrecorded: UnrecordedCases::default(),
        ownership: Ownership::everything(),
    };
    assert!(
        lift_due_bans(&failing, now + chrono::Duration::days(3))
            .await
            .expect("tick")
            .is_empty()
    );
    assert!(
        personabot::store::modlog::cases_for(db.reader(), guild, UserId(ids::ALICE))
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
    // The failure backs the case off for a minute (retry_base), then it is tried again.
    assert!(
        lift_due_bans(&deps, now + chrono::Duration::days(3))
            .await
            .expect("tick")
            .is_empty(),
        "backing off after the failure"
    );
    let lifted = lift_due_bans(
        &deps,
        now + chrono::Duration::days(3) + chrono::Duration::minutes(2),
    )
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
        .run_at(
            Some(chrono::Utc::now() + chrono::Duration::hours(2)),
            std::time::Duration::from_secs(60),
        )
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
