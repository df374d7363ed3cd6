//! /bot: where the bot answers and speaks up.

use super::{refused, run};
use crate::common::db::Backend;
use crate::e2e_both;
use crate::support::spawn_bot;
use fakes::{ids, opt};
use personabot::domain::{ChannelId, GuildId};
use serde_json::json;

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
    let policy = personabot::store::settings::channel_policy(
        db.reader(),
        Some(GuildId(ids::GUILD)),
        ChannelId(ids::RANDOM),
        default.clone(),
    )
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
    let policy = personabot::store::settings::channel_policy(
        db.reader(),
        Some(GuildId(ids::GUILD)),
        ChannelId(ids::GENERAL),
        default.clone(),
    )
    .await
    .expect("policy");
    assert_eq!(
        (policy.bot_enabled, policy.proactive_enabled),
        (false, false)
    );
    run(&bot, ids::GENERAL, ids::CAROL, "bot enable", json!([])).await;
    assert!(
        personabot::store::settings::channel_policy(
            db.reader(),
            Some(GuildId(ids::GUILD)),
            ChannelId(ids::GENERAL),
            default.clone()
        )
        .await
        .expect("policy")
        .bot_enabled
    );
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(settings_commands);
