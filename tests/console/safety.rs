//! Safe by default: member-written text is shown as text, and a form without the CSRF
//! token changes nothing.

use crate::browser::Browser;
use crate::common::db::Backend;
use crate::e2e_both;
use crate::harness::spawn_console_bot;
use crate::support::eventually;
use fakes::world::{Member, User};
use fakes::{World, ids};

const HOSTILE: &str = "<script>alert(1)</script>";
const MALLORY: u64 = 3100;

/// A member named `<script>alert(1)</script>` who speaks in the server is listed by that
/// name, as text: no script runs, no element is made of it.
async fn hostile_name_renders_as_text(backend: Backend) {
    let world = World::default().with_member(Member::new(User::new(MALLORY, HOSTILE)));
    let bot = spawn_console_bot(backend, world).await;
    bot.discord
        .user_says(ids::GENERAL, MALLORY, "hello everyone")
        .await;
    eventually("the member is seen", || async {
        bot.app.store.flush().await.ok()?;
        let user = personabot::store::users::user(
            bot.app.database.reader(),
            personabot::domain::UserId(MALLORY),
        )
        .await
        .ok()??;
        (user.username == HOSTILE).then_some(())
    })
    .await;

    let browser = Browser::start(bot.addr).await;
    browser.log_in(&bot.code()).await;
    browser
        .open(&format!("/servers/{}/members", ids::GUILD))
        .await;
    let names = browser.text("#members").await;
    assert!(
        names.contains(HOSTILE),
        "the name is shown as text: {names}"
    );
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "no alert: the script did not run"
    );
    let html = browser.html().await;
    assert!(!html.contains(HOSTILE), "never as markup");
    browser.screenshot("members-hostile-name").await;
    browser
        .open(&format!("/servers/{}/members/{MALLORY}", ids::GUILD))
        .await;
    assert_eq!(browser.text("#member-name").await, HOSTILE);
    assert!(browser.client.get_alert_text().await.is_err());
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(hostile_name_renders_as_text);

/// The persona form posted with its CSRF field removed is refused (403) and adds nothing;
/// the same form with it works.
async fn form_without_csrf_is_refused(backend: Backend) {
    let bot = spawn_console_bot(backend, World::default()).await;
    let browser = Browser::start(bot.addr).await;
    browser.log_in(&bot.code()).await;
    browser.open("/persona").await;
    browser
        .fill("#base + form.add input[name=content]", "Forged line.")
        .await;
    browser
        .client
        .execute(
            "document.querySelector('#base + form.add input[name=csrf]').remove();",
            vec![],
        )
        .await
        .expect("strip the token");
    browser.click("#base + form.add button").await;
    let heading = browser.text("h1").await;
    assert_eq!(heading, "Form refused");
    browser.screenshot("csrf-refused").await;
    let base = bot.app.store.persona_entries(None).await.expect("persona");
    assert!(
        base.iter().all(|e| !e.content.contains("Forged")),
        "{base:?}"
    );

    // A request from elsewhere with the session cookie but no token: refused too.
    let cookie = browser
        .client
        .get_named_cookie("pb_session")
        .await
        .expect("session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    // The activity page's live log (server-sent events) reports the refusal.
    let http = reqwest::Client::new();
    let mut live = http
        .get(format!("http://{}/activity/log?level=warn", bot.addr))
        .header("cookie", format!("pb_session={}", cookie.value()))
        .send()
        .await
        .expect("log stream");
    assert_eq!(
        live.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let response = http
        .post(format!("http://{}/persona/add", bot.addr))
        .header("cookie", format!("pb_session={}", cookie.value()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("layer=base&kind=trait&content=Forged+again")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
    // The ops routes, mounted under /ops/ for the logged-in operator only.
    let healthz = http
        .get(format!("http://{}/ops/healthz", bot.addr))
        .header("cookie", format!("pb_session={}", cookie.value()))
        .send()
        .await
        .expect("request");
    assert_eq!(healthz.text().await.expect("body"), "ok\n");
    let anonymous = http
        .get(format!("http://{}/ops/metrics", bot.addr))
        .send()
        .await
        .expect("request");
    assert!(
        anonymous.url().path().ends_with("/login"),
        "{}",
        anonymous.url()
    );
    // DNS rebinding: the same request under another host name is not served at all.
    let rebound = http
        .get(format!("http://{}/login", bot.addr))
        .header("host", format!("evil.example:{}", bot.addr.port()))
        .send()
        .await
        .expect("request");
    assert_eq!(rebound.status().as_u16(), 421);
    let mut seen = String::new();
    while !seen.contains("CSRF") {
        let chunk = tokio::time::timeout(crate::support::WAIT, live.chunk())
            .await
            .expect("a log event within the deadline")
            .expect("stream")
            .expect("open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: log"), "{seen}");

    browser.open("/persona").await;
    browser
        .fill("#base + form.add input[name=content]", "Honest line.")
        .await;
    browser.click("#base + form.add button").await;
    let base = bot.app.store.persona_entries(None).await.expect("persona");
    assert!(base.iter().any(|e| e.content == "Honest line."), "{base:?}");
    assert!(
        base.iter().all(|e| !e.content.contains("Forged")),
        "{base:?}"
    );
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(form_without_csrf_is_refused);

/// A channel switched off on the settings page (the `/bot disable` request) is silent at
/// once; the other channel still gets answers.
async fn channel_switched_off_in_console(backend: Backend) {
    let bot = spawn_console_bot(backend, World::default()).await;
    bot.openai.set_default(fakes::Reply::text("Here!"));
    let hello = format!("<@{}> hello", ids::BOT);
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, &hello)
        .await;
    crate::support::wait_for_posts(&bot.discord, ids::GENERAL, 1).await;

    let browser = Browser::start(bot.addr).await;
    browser.log_in(&bot.code()).await;
    browser.open("/settings").await;
    let row = format!("#channel-{}", ids::GENERAL);
    browser
        .client
        .execute(
            &format!("document.querySelector('{row} select[name=enabled]').value = 'off';"),
            vec![],
        )
        .await
        .expect("choose off");
    browser.click(&format!("{row} button")).await;
    let effective = browser.text(&format!("{row} .effective")).await;
    assert_eq!(effective, "off, channel setting");
    browser.screenshot("settings").await;

    // Configured before this start: the set-up page still gives the invite link.
    browser.open("/setup").await;
    let invite = browser.attr("#invite", "href").await;
    assert!(
        invite.contains(&format!("client_id={}", ids::BOT)),
        "{invite}"
    );

    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, &hello)
        .await;
    bot.discord.user_says(ids::RANDOM, ids::ALICE, &hello).await;
    crate::support::wait_for_posts(&bot.discord, ids::RANDOM, 1).await;
    bot.app.store.flush().await.expect("flush");
    assert_eq!(
        crate::support::posts_to(&bot.discord, ids::GENERAL).len(),
        1,
        "no answer in the switched-off channel"
    );
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(channel_switched_off_in_console);

/// A backup tool holds SQLite's write lock: an edit in the console says plainly that
/// nothing was changed (no hang, no error page without words), pages that only read still
/// work, and the same edit goes through once the lock is gone, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_database_is_a_clear_page_and_the_edit_works_after() {
    use sea_orm::{ConnectionTrait, Database};
    let bot = crate::harness::spawn_console_bot_with(
        Backend::Sqlite,
        World::default(),
        &[("PERSONABOT__DATABASE__BUSY_TIMEOUT_MS", "500")],
    )
    .await;
    let browser = Browser::start(bot.addr).await;
    browser.log_in(&bot.code()).await;
    let backup = Database::connect(bot._db.url.as_str())
        .await
        .expect("second connection");
    backup
        .execute_unprepared("BEGIN EXCLUSIVE")
        .await
        .expect("the write lock");

    browser.open("/persona").await;
    browser
        .fill("#base + form.add input[name=content]", "Collects foghorns.")
        .await;
    browser.click("#base + form.add button").await;
    let said = browser.text("p.message").await;
    assert!(
        said.contains("nothing was changed") && said.contains("try again"),
        "{said}"
    );
    browser.screenshot("database-locked").await;
    browser
        .open(&format!("/servers/{}/members", ids::GUILD))
        .await;
    // Reading pages still work: the member list is there.
    let _ = browser.text("#members").await;

    backup.execute_unprepared("COMMIT").await.expect("release");
    browser.open("/persona").await;
    browser
        .fill("#base + form.add input[name=content]", "Collects foghorns.")
        .await;
    browser.click("#base + form.add button").await;
    let preview = browser.text("#preview").await;
    assert_eq!(
        preview.matches("Collects foghorns.").count(),
        1,
        "{preview}"
    );
    let _ = backup.close().await;
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
