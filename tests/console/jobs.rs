//! Activity: "Run memory consolidation" in the console, with the sandbox's stand-in model,
//! turns what a member said into facts shown on their page; the status line regenerates.

use crate::browser::Browser;
use crate::common::db::Backend;
use crate::e2e_both;
use crate::harness::spawn_console_bot_with;
use crate::sandbox_model::sandbox_model;
use crate::support::{eventually, wait_for_posts};
use fakes::{World, ids};

async fn consolidation_from_the_console_forms_facts(backend: Backend) {
    let judged = [("PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT", "true")];
    let bot = spawn_console_bot_with(backend, World::default(), &judged).await;
    bot.openai.set_default(sandbox_model());
    let said = [
        "I like green tea. My cat is called Miso!",
        "hello again",
        "what do you think of rainy days?",
    ];
    for (i, text) in said.iter().enumerate() {
        bot.discord
            .user_says(ids::GENERAL, ids::ALICE, &format!("<@{}> {text}", ids::BOT))
            .await;
        let posts = wait_for_posts(&bot.discord, ids::GENERAL, i + 1).await;
        assert!(posts[i].content().is_some_and(|c| !c.is_empty()));
    }
    let alice = crate::support::member(ids::ALICE);
    eventually("the exchanges were judged", || async {
        let events = bot.app.store.relationship_events(alice, 10).await.ok()?;
        (events.len() >= 2).then_some(())
    })
    .await;

    let browser = Browser::start(bot.addr).await;
    browser.log_in(&bot.code()).await;
    browser.open("/activity").await;
    browser.click("#consolidate").await;
    eventually("the consolidation run finished", || async {
        browser.open("/activity").await;
        let page = browser.html().await;
        page.contains("consolidation</strong>: done").then_some(())
    })
    .await;
    let page = browser.html().await;
    assert!(page.contains("2 facts added"), "{page}");
    browser.click("#status").await;
    eventually("a new status line", || async {
        browser.open("/activity").await;
        browser
            .html()
            .await
            .contains("New status line:")
            .then_some(())
    })
    .await;
    browser.screenshot("activity").await;

    browser
        .open(&format!("/servers/{}/members/{}", ids::GUILD, ids::ALICE))
        .await;
    let page = browser.html().await;
    assert!(
        page.contains("likes green tea") && page.contains("their cat is called miso"),
        "{page}"
    );
    assert!(
        page.contains("a friendly chat"),
        "the judgements' reasons are listed"
    );
    browser.screenshot("member-after-consolidation").await;
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(consolidation_from_the_console_forms_facts);
