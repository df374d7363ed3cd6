//! Discord's rate limits, honoured by serenity's own ratelimiter: the bot talks to
//! `https://discord.com` (resolved to the fake's TLS listener), so the limiter is on exactly
//! as in production, and the fake answers 429 with Discord's headers and body.

use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::{WAIT, spawn_bot_through_tls};
use fakes::{Failure, Reply, RouteMatcher, ids};
use std::time::{Duration, Instant};

/// Mentions the bot in `channel` after arming `failure` once on that channel's message
/// route; returns the gap between the refused POST and the one that went through.
async fn gap_after_429(bot: &crate::support::TestBot, channel: u64, failure: Failure) -> Duration {
    let route = format!("/channels/{channel}/messages");
    bot.discord
        .fail_next(RouteMatcher::new("POST", &route), failure, 1);
    let before = posts(bot, &route);
    bot.discord
        .user_says(channel, ids::ALICE, &format!("<@{}> hello?", ids::BOT))
        .await;
    let deadline = Instant::now() + WAIT;
    while posts(bot, &route) <= before {
        assert!(Instant::now() < deadline, "never tried to post");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused_at = Instant::now();
    let deadline = Instant::now() + WAIT;
    while posts(bot, &route) < before + 2 {
        assert!(Instant::now() < deadline, "never retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    refused_at.elapsed()
}

fn posts(bot: &crate::support::TestBot, route: &str) -> usize {
    bot.discord
        .requests()
        .iter()
        .filter(|r| r.is("POST", route))
        .count()
}

async fn rate_limits_are_waited_out(backend: Backend) {
    let bot = spawn_bot_through_tls(backend, &[]).await;
    bot.openai.set_default(Reply::text("Here I am."));
    let ops = crate::ops::OpsClient::new(bot.app.ops_addr().expect("the ops server runs"));
    let limited = |body: &str| {
        crate::ops::sample(
            body,
            "personabot_rate_limited_total",
            &[("service", "discord")],
        )
    };
    let before = limited(&ops.get("/metrics").await.1);
    // The route's own bucket: serenity waits `retry_after`, then sends again.
    let gap = gap_after_429(
        &bot,
        ids::GENERAL,
        Failure::RateLimited {
            retry_after_secs: 1.5,
        },
    )
    .await;
    assert!(gap >= Duration::from_millis(1200), "retried after {gap:?}");
    // The global limit, in the other server.
    let gap = gap_after_429(
        &bot,
        ids::OTHER_GENERAL,
        Failure::GlobalRateLimited {
            retry_after_secs: 1.5,
        },
    )
    .await;
    assert!(gap >= Duration::from_millis(1200), "retried after {gap:?}");
    println!("429 waited out with serenity's ratelimiter: last gap {gap:?}");
    // Both waits are counted (the counter is process-wide: at least ours).
    let after = limited(&ops.get("/metrics").await.1);
    assert!(
        after >= before + 2.0,
        "rate limits counted: {before} -> {after}"
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(rate_limits_are_waited_out);
