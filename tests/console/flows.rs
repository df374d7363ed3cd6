//! First run, persona and memories through the browser, each change checked where it must
//! show: the bot's next prompt, `/memory show`.

use crate::browser::Browser;
use crate::common::db::{Backend, TestDb};
use crate::e2e_both;
use crate::harness::{CONSOLE_ON_A_FREE_PORT, command_text, spawn_console_bot};
use crate::support::{WAIT, settings, wait_for_posts};
use fakes::{FakeDiscord, FakeOpenAi, Reply, Rule, World, ids};
use personabot::app::launch::launch;
use personabot::console::SetupFiles;
use personabot::domain::{GuildId, NewFact, UserId};

/// No token: the console's set-up page refuses a bad token and a missing embedding model
/// with clear messages, accepts the fakes, writes `.env` (0600) and starts the bot, which
/// then answers in the fake Discord.
async fn first_run_setup(backend: Backend) {
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let env_file = dir.path().join(".env");
    let mut settings = settings(&discord, &openai, &db.url, &[CONSOLE_ON_A_FREE_PORT]);
    settings.discord.token = None;
    settings.llm.api_key = None;
    let launched = launch(
        settings,
        SetupFiles {
            env_file: env_file.clone(),
        },
    )
    .await
    .expect("the console starts without a token");
    let addr = launched.console_addr().expect("console address");
    let code = launched.login_code().expect("a login code");
    let starting = tokio::spawn(launched.into_app());

    let browser = Browser::start(addr).await;
    browser.open("/").await;
    assert_eq!(
        browser.path().await,
        "/login",
        "logged-out visitors go to the login page"
    );
    browser.log_in(&code).await;
    assert_eq!(
        browser.path().await,
        "/setup",
        "a bot without a token goes to set-up"
    );
    browser.screenshot("setup-form").await;

    let fill = |token: &'static str, embedding: &'static str| {
        let browser = &browser;
        let base = openai.base_url();
        async move {
            browser.fill("#discord_token", token).await;
            browser.fill("#llm_base_url", &base).await;
            browser.fill("#llm_api_key", "sk-fake").await;
            browser.fill("#chat_model", "fake").await;
            browser.fill("#embedding_model", embedding).await;
            browser.fill("#bot_name", "Console Bot").await;
            browser.click("#save").await;
        }
    };
    fill("not-the-token", "fake-embed").await;
    let error = browser.text("#error").await;
    assert!(error.contains("Discord refused this token"), "{error}");
    browser.screenshot("setup-bad-token").await;

    fill("fake-token", "nomic-embed-text").await;
    let error = browser.text("#error").await;
    assert!(
        error.contains("embedding model `nomic-embed-text` is missing"),
        "{error}"
    );
    assert!(
        !env_file.exists(),
        "nothing is written before every check passes"
    );

    fill("fake-token", "fake-embed").await;
    let done = browser.text("#done").await;
    assert!(done.contains("Token accepted"), "{done}");
    let invite = browser.attr("#invite", "href").await;
    assert!(
        invite.contains(&format!("client_id={}", ids::BOT))
            && invite.contains("scope=bot+applications.commands")
            && invite.contains("permissions="),
        "{invite}"
    );
    browser.screenshot("setup-done").await;

    let app = tokio::time::timeout(WAIT, starting)
        .await
        .expect("the bot starts after set-up")
        .expect("task")
        .expect("bot starts");
    app.wait_ready(WAIT)
        .await
        .expect("gateway READY with the new token");
    let env = std::fs::read_to_string(&env_file).expect(".env written");
    assert!(
        env.contains("PERSONABOT__DISCORD__TOKEN=fake-token"),
        "{env}"
    );
    assert!(
        env.contains("PERSONABOT__LLM__EMBEDDING_MODEL=fake-embed"),
        "{env}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, ".env holds the token: owner only");
    }

    openai.script(
        Rule::when_last_user_contains("hello").reply(Reply::text("Hi, set up and running!")),
    );
    discord
        .user_says(ids::GENERAL, ids::ALICE, &format!("<@{}> hello", ids::BOT))
        .await;
    let posts = wait_for_posts(&discord, ids::GENERAL, 1).await;
    assert_eq!(posts[0].content(), Some("Hi, set up and running!"));
    assert!(
        openai.chat_requests()[0]
            .system_text()
            .contains("Console Bot")
    );

    browser.open("/").await;
    let connection = browser.text("#connection").await;
    assert!(connection.contains("Connected"), "{connection}");
    let latency = browser.text("#latency").await;
    assert!(
        latency.contains("p95"),
        "the model call is timed: {latency}"
    );
    let page = browser.html().await;
    assert!(
        page.contains("aria-label=\"Mood over the last 30 days\""),
        "the first day's mood is charted"
    );
    browser.screenshot("dashboard").await;
    browser.close().await;
    app.shutdown().await.expect("clean shutdown");
}
e2e_both!(first_run_setup);

/// A base persona line added and a server line added in the console are in the preview
/// and in the very next prompt the model sees, in that server only.
async fn persona_edit_reaches_the_next_prompt(backend: Backend) {
    let bot = spawn_console_bot(backend, World::default()).await;
    let browser = Browser::start(bot.addr).await;
    browser.log_in(&bot.code()).await;
    browser.open("/persona").await;
    browser
        .fill(
            "#base + form.add input[name=content]",
            "Secretly adores lighthouses.",
        )
        .await;
    browser.click("#base + form.add button").await;
    browser
        .open(&format!("/persona?server={}", ids::GUILD))
        .await;
    browser
        .fill(
            "#layer + form.add input[name=content]",
            "Calls everyone here matey.",
        )
        .await;
    browser.click("#layer + form.add button").await;
    let preview = browser.text("#preview").await;
    assert!(
        preview.contains("Secretly adores lighthouses.")
            && preview.contains("Calls everyone here matey."),
        "{preview}"
    );
    assert!(
        preview.contains(":partyblob:"),
        "the server's emotes, as the reply offers them: {preview}"
    );
    let tokens: usize = browser
        .text("#tokens")
        .await
        .parse()
        .expect("a token count");
    assert!(tokens > 10, "{tokens}");
    browser.screenshot("persona").await;

    bot.openai.set_default(Reply::text("Ahoy."));
    bot.discord
        .user_says(ids::GENERAL, ids::ALICE, &format!("<@{}> hi", ids::BOT))
        .await;
    wait_for_posts(&bot.discord, ids::GENERAL, 1).await;
    bot.discord
        .user_says(
            ids::OTHER_GENERAL,
            ids::ALICE,
            &format!("<@{}> hi", ids::BOT),
        )
        .await;
    wait_for_posts(&bot.discord, ids::OTHER_GENERAL, 1).await;
    let requests = bot.openai.chat_requests();
    let here = requests
        .iter()
        .find(|r| r.prompt_text().contains("matey"))
        .map(|r| r.system_text());
    let here = here.expect("the first server's prompt has its layer");
    // The preview is the reply's first system turn, word for word.
    let first_system = requests
        .iter()
        .find(|r| r.prompt_text().contains("matey"))
        .and_then(|r| r.messages().into_iter().find(|(role, _)| role == "system"))
        .map(|(_, text)| text)
        .unwrap_or_default();
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(words(&preview), words(&first_system));
    assert!(here.contains("Secretly adores lighthouses."), "{here}");
    let elsewhere: Vec<_> = requests
        .iter()
        .filter(|r| r.system_text().contains("lighthouses") && !r.system_text().contains("matey"))
        .collect();
    assert!(
        !elsewhere.is_empty(),
        "the other server sees the base without the first server's layer"
    );
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(persona_edit_reaches_the_next_prompt);

/// A fact deleted on a member's page is gone from their `/memory show`; the other stays.
async fn fact_deleted_in_console_is_gone(backend: Backend) {
    let bot = spawn_console_bot(backend, World::default()).await;
    let now = chrono::Utc::now();
    let fact = |text: &str| NewFact {
        guild_id: GuildId(ids::GUILD),
        user_id: UserId(ids::ALICE),
        fact: text.into(),
        category: "hobby".into(),
        embedding: None,
    };
    let tea = personabot::store::facts::insert_fact(
        bot.app.database.writer(),
        &fact("brews oolong tea"),
        bot.app.database.embedding_model(),
        now,
    )
    .await
    .expect("fact");
    personabot::store::facts::insert_fact(
        bot.app.database.writer(),
        &fact("climbs rocks"),
        bot.app.database.embedding_model(),
        now,
    )
    .await
    .expect("fact");
    let shown = command_text(&bot.discord, ids::GENERAL, ids::ALICE, "memory show").await;
    assert!(shown.contains("oolong"), "{shown}");

    let browser = Browser::start(bot.addr).await;
    browser.log_in(&bot.code()).await;
    browser
        .open(&format!("/servers/{}/members", ids::GUILD))
        .await;
    let members = browser.text("#members").await;
    assert!(members.contains(&ids::ALICE.to_string()), "{members}");
    browser
        .open(&format!("/servers/{}/members/{}", ids::GUILD, ids::ALICE))
        .await;
    browser.screenshot("member-before").await;
    browser.click(&format!("#delete-{}", tea.id)).await;
    // Facts are shown in their edit fields: read the page's markup.
    let facts = browser.html().await;
    assert!(
        !facts.contains("oolong") && facts.contains("climbs rocks"),
        "{facts}"
    );
    browser.screenshot("member").await;

    let shown = command_text(&bot.discord, ids::GENERAL, ids::ALICE, "memory show").await;
    assert!(
        !shown.contains("oolong") && shown.contains("climbs rocks"),
        "{shown}"
    );
    browser.close().await;
    bot.app.shutdown().await.expect("clean shutdown");
}
e2e_both!(fact_deleted_in_console_is_gone);
