//! Activity: "Run memory consolidation" in the console, with the sandbox's stand-in model,
//! turns what a member said into facts shown on their page; the status line regenerates.

use crate::browser::Browser;
use crate::common::db::Backend;
use crate::e2e_both;
use crate::harness::spawn_console_bot;
use crate::sandbox_model::sandbox_model;
use crate::support::{eventually, wait_for_posts};
use fakes::{World, ids};

async fn consolidation_from_the_console_forms_facts(backend: Backend) {
    let bot = spawn_console_bot(backend, World::default()).await;
    bot.openai.set_default(sandbox_model());
    bot.discord
        .user_says(
            ids::GENERAL,
            ids::ALICE,
            &format!("<@{}> I like green tea. My cat is called Miso!", ids::BOT),
        )
        .await;
    let posts = wait_for_posts(&bot.discord, ids::GENERAL, 1).await;
    assert!(posts[0].content().is_some_and(|c| !c.is_empty()));

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
    browser.screenshot("member-after-consolidation").await;
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(consolidation_from_the_console_forms_facts);
