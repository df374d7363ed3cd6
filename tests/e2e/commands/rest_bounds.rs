//! Every REST failure path of the ban lifter is bounded, and moderation is truthful when
//! the modlog write fails.
//!
//! The lifter is driven through the running app's BanLifter actor with a chosen clock
//! (`run_at`), so backoff of minutes or hours takes no wall time and no sleep.

use super::run;
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{TestBot, WAIT, spawn_bot_with};
use chrono::{Duration, Utc};
use fakes::{Failure, RouteMatcher, ids, opt};
use personabot::domain::{GuildId, ModAction, UserId};
use sea_orm::ConnectionTrait;
use serde_json::json;

/// The timer stays out of the way (a request during a timer run would join it, on the
/// real clock); every tick below is a `run_at` with a chosen time.
const SETTINGS: &[(&str, &str)] = &[
    ("PERSONABOT__MODERATION__BAN_CHECK_INTERVAL_MS", "3600000"),
    ("PERSONABOT__MODERATION__UNBAN_MAX_REFUSALS", "3"),
    ("PERSONABOT__MODERATION__UNBAN_RETRY_BASE_MS", "60000"),
    ("PERSONABOT__MODERATION__UNBAN_RETRY_MAX_MS", "3600000"),
];

/// Bans per server in the storm (two servers: 600 in all).
const PER_SERVER: u64 = 300;

fn count(bot: &TestBot, method: &str, path: &str) -> usize {
    bot.discord
        .requests()
        .iter()
        .filter(|r| r.is(method, path))
        .count()
}

fn notices(bot: &TestBot, channel: u64) -> Vec<String> {
    let path = format!("/channels/{channel}/messages");
    bot.discord
        .requests()
        .iter()
        .filter(|r| r.is("POST", &path))
        .filter_map(|r| r.content().map(str::to_owned))
        .filter(|c| c.contains("could not lift"))
        .collect()
}

async fn tick(bot: &TestBot, at: chrono::DateTime<Utc>) -> usize {
    bot.app
        .bans
        .run_at(Some(at), WAIT)
        .await
        .expect("the ban lifter answers")
        .expect("tick")
        .len()
}

/// 600 due temporary bans in two servers, every unban refused with 403 Missing
/// Permissions: a bounded number of requests, every case "could not lift", one notice per
/// server in its log channel.
async fn refused_unbans_are_bounded(backend: Backend) {
    let bot = spawn_bot_with(backend, SETTINGS).await;
    let db = &bot.app.database;
    for (channel, admin) in [(ids::GENERAL, ids::CAROL), (ids::OTHER_GENERAL, ids::DAVE)] {
        let a = run(
            &bot,
            channel,
            admin,
            "bot logchannel",
            json!([opt::channel("channel", channel)]),
        )
        .await;
        assert!(a.text().contains(&format!("<#{channel}>")), "{}", a.text());
    }
    let now = Utc::now();
    let expires = now + Duration::hours(1);
    for guild in [ids::GUILD, ids::OTHER_GUILD] {
        for n in 0..PER_SERVER {
            personabot::store::modlog::add_case(
                db.writer(),
                GuildId(guild),
                ModAction::Ban,
                UserId(500_000 + n),
                UserId(ids::CAROL),
                Some("raid wave"),
                Some(expires),
                now,
            )
            .await
            .expect("case");
        }
    }
    bot.discord.fail_next(
        RouteMatcher::new("DELETE", "/bans/"),
        Failure::Discord {
            status: 403,
            code: 50013,
            message: "Missing Permissions".into(),
        },
        usize::MAX,
    );
    let before = bot.discord.requests().len();

    // Ten ticks two hours apart (every backoff is at most an hour): the first three are
    // refused, the rest find nothing left to try.
    let mut at = now + Duration::hours(2);
    for _ in 0..10 {
        assert_eq!(tick(&bot, at).await, 0, "nothing can be lifted");
        at += Duration::hours(2);
    }
    let unbans = count(&bot, "DELETE", "/bans/");
    let all = bot.discord.requests().len() - before;
    println!(
        "600 refused unbans ({backend:?}): {unbans} unban requests, {all} REST requests in all"
    );
    assert_eq!(
        unbans,
        2 * 3,
        "one refused request per server per tick, three tries"
    );
    assert!(all <= 10, "{all} requests");

    // Every case is "could not lift", none is due any more.
    assert!(
        personabot::store::modlog::due_temporary_bans(db.reader(), at + Duration::days(365))
            .await
            .expect("due")
            .is_empty()
    );
    for guild in [ids::GUILD, ids::OTHER_GUILD] {
        for user in [500_000, 500_000 + PER_SERVER - 1] {
            let cases =
                personabot::store::modlog::cases_for(db.reader(), GuildId(guild), UserId(user))
                    .await
                    .expect("cases");
            assert_eq!(cases.len(), 1);
            let lift = cases[0].lift;
            assert_eq!(lift.failures, 3);
            assert!(lift.given_up_at.is_some() && cases[0].lifted_at.is_none());
        }
    }
    // One notice per server, in its log channel.
    for channel in [ids::GENERAL, ids::OTHER_GENERAL] {
        let posted = notices(&bot, channel);
        assert_eq!(posted.len(), 1, "{posted:?}");
        assert!(
            posted[0].contains("could not lift 300 temporary bans")
                && posted[0].contains("missing the Ban Members permission")
                && posted[0].contains("and 275 more"),
            "{}",
            posted[0]
        );
    }
    // The modlog shows it.
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "modlog",
        json!([opt::user("member", 500_000)]),
    )
    .await;
    assert!(a.text().contains("could not lift"), "{}", a.text());

    // Discord failing (503) for 50 more due bans: one request per tick, not one per ban.
    for n in 0..50 {
        personabot::store::modlog::add_case(
            db.writer(),
            GuildId(ids::GUILD),
            ModAction::Ban,
            UserId(600_000 + n),
            UserId(ids::CAROL),
            None,
            Some(at),
            at,
        )
        .await
        .expect("case");
    }
    bot.discord.fail_next(
        RouteMatcher::new("DELETE", "/bans/6"),
        Failure::Status(503),
        usize::MAX,
    );
    let before = count(&bot, "DELETE", "/bans/");
    assert_eq!(tick(&bot, at + Duration::minutes(1)).await, 0);
    assert_eq!(
        count(&bot, "DELETE", "/bans/") - before,
        1,
        "a transient failure ends the tick"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(refused_unbans_are_bounded);

/// A ban done on Discord whose case cannot be written: the moderator is told the truth,
/// the case is written once the store is back, and the temporary ban is lifted on time,
/// from memory if the store is still down when it runs out.
async fn unwritten_case_is_reported_and_lifted(backend: Backend) {
    let bot = spawn_bot_with(backend, SETTINGS).await;
    let db = &bot.app.database;
    let sql = |s: &'static str| async move {
        db.writer()
            .execute_unprepared(s)
            .await
            .expect("schema change");
    };
    sql("ALTER TABLE modlog_cases RENAME TO modlog_cases_away").await;
    let now = Utc::now();
    let a = run(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "ban",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("duration", "1h")
        ]),
    )
    .await;
    assert!(
        a.text()
            .contains("Banned on Discord, but I could not write the case to the modlog"),
        "{}",
        a.text()
    );
    assert!(
        a.text().contains("I will still lift the ban"),
        "{}",
        a.text()
    );
    assert!(
        !a.ephemeral(),
        "the moderators see it where they saw the ban"
    );
    let a = run(
        &bot,
        ids::OTHER_GENERAL,
        ids::DAVE,
        "ban",
        json!([
            opt::user("member", ids::ALICE),
            opt::string("duration", "1d")
        ]),
    )
    .await;
    assert!(a.text().contains("Banned on Discord, but"), "{}", a.text());
    let world = bot.discord.world();
    assert!(
        world.is_banned_in(ids::GUILD, ids::ALICE)
            && world.is_banned_in(ids::OTHER_GUILD, ids::ALICE)
    );

    // The first ban runs out while the store is still down: lifted from memory.
    let down = bot
        .app
        .bans
        .run_at(Some(now + Duration::hours(2)), WAIT)
        .await
        .expect("the ban lifter answers");
    assert!(down.is_err(), "the store is down");
    assert!(!bot.discord.world().is_banned_in(ids::GUILD, ids::ALICE));
    assert!(
        bot.discord
            .world()
            .is_banned_in(ids::OTHER_GUILD, ids::ALICE)
    );

    // The store is back: both cases are written, the lifted one with its unban.
    sql("ALTER TABLE modlog_cases_away RENAME TO modlog_cases").await;
    assert_eq!(tick(&bot, now + Duration::hours(3)).await, 0);
    let here =
        personabot::store::modlog::cases_for(db.reader(), GuildId(ids::GUILD), UserId(ids::ALICE))
            .await
            .expect("cases");
    assert_eq!(
        here.iter().map(|c| c.action).collect::<Vec<_>>(),
        [ModAction::Ban, ModAction::Unban]
    );
    assert!(here[0].lifted_at.is_some());
    assert_eq!(here[1].moderator_id, UserId(ids::BOT));
    let there = personabot::store::modlog::cases_for(
        db.reader(),
        GuildId(ids::OTHER_GUILD),
        UserId(ids::ALICE),
    )
    .await
    .expect("cases");
    assert_eq!(there.len(), 1);
    assert!(there[0].lifted_at.is_none());

    // The second runs out after the store came back: lifted from the database, on time.
    assert_eq!(tick(&bot, now + Duration::hours(23)).await, 0, "not yet");
    assert_eq!(tick(&bot, now + Duration::hours(25)).await, 1);
    assert!(
        !bot.discord
            .world()
            .is_banned_in(ids::OTHER_GUILD, ids::ALICE)
    );
    assert_eq!(count(&bot, "DELETE", "/bans/"), 2, "each ban lifted once");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(unwritten_case_is_reported_and_lifted);

/// Sends `/name` and returns the body of its first interaction callback, once the answer
/// that follows a deferral has arrived too.
async fn first_callback(
    bot: &TestBot,
    channel: u64,
    invoker: u64,
    name: &str,
    options: serde_json::Value,
) -> serde_json::Value {
    let handle = bot
        .discord
        .slash_command(channel, invoker, name, options)
        .await;
    let callback = format!("/interactions/{}/", handle.id);
    let first = bot
        .discord
        .wait_for_request(|r| r.is("POST", &callback), WAIT)
        .await
        .unwrap_or_else(|e| panic!("/{name} was not answered: {e}"));
    let webhook = format!("/webhooks/{}/{}", ids::APPLICATION, handle.token);
    bot.discord
        .wait_for_request(|r| r.path.contains(&webhook), WAIT)
        .await
        .unwrap_or_else(|e| panic!("/{name} deferred but never answered: {e}"));
    first.body.clone().unwrap_or_default()
}

/// Commands that can take more than a moment defer first, with the visibility of their
/// answer: /stats privately, moderation and /ticket close publicly.
async fn slow_commands_defer_first(backend: Backend) {
    let bot = spawn_bot_with(backend, SETTINGS).await;
    let stats = first_callback(&bot, ids::GENERAL, ids::BOB, "stats", json!([])).await;
    assert_eq!(stats["type"], json!(5), "{stats}");
    assert_eq!(
        stats["data"]["flags"],
        json!(64),
        "private, like the stats: {stats}"
    );
    let kick = first_callback(
        &bot,
        ids::GENERAL,
        ids::CAROL,
        "kick",
        json!([opt::user("member", ids::ALICE), opt::boolean("dm", true)]),
    )
    .await;
    assert_eq!(kick["type"], json!(5), "{kick}");
    assert_eq!(
        kick["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "public: {kick}"
    );
    // A ticket, closed: deferred once the checks passed.
    let open = run(
        &bot,
        ids::GENERAL,
        ids::BOB,
        "ticket open",
        json!([opt::string("subject", "slow close")]),
    )
    .await;
    assert!(open.text().contains("opened"), "{}", open.text());
    let thread = bot.discord.world().threads()[0].id;
    let close = first_callback(&bot, thread, ids::BOB, "ticket close", json!([])).await;
    assert_eq!(close["type"], json!(5), "{close}");
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(slow_commands_defer_first);
