//! Scale-out: real `personabot` processes with shard ranges against one fake Discord (two
//! shards) and one PostgreSQL database. Process A runs shard 0 (`GUILD`, `OTHER_GUILD`),
//! process B shard 1 (`FAR_GUILD`), process S is A's standby. Each process has its own fake
//! model server, so who did what is on record.
//!
//! Proves: every mention is answered once, by the process owning its server; the standby
//! does not connect while A lives; the consolidation of each server is done once (the one
//! interrupted by killing A is finished by S, nothing twice); the mood is rolled and the
//! status generated once for the whole bot; clean shutdowns release their leases. Also: a
//! second process on one SQLite file is refused, and `shard_count: auto` in one process runs
//! every shard.

use crate::common::db::{Backend, TestDb};
use crate::support::posts_to;
use entity::memory_facts;
use fakes::{DiscordOptions, FakeDiscord, FakeOpenAi, OpenAiRequest, Reply, Rule, World, ids};
use personabot::domain::{GuildId, ModAction, UserId};
use personabot::store::Store;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command};

/// How long each stage may take: three debug-build processes on a loaded 2-core machine
/// (the whole e2e suite runs beside them) are slower than one in-process bot.
const LONG: std::time::Duration = std::time::Duration::from_secs(90);

/// Polls `check` until it returns `Some`, failing the test after [`LONG`].
async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    crate::support::eventually_within(LONG, what, check).await
}

/// A bot process, killed if the test fails.
struct Process {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    fn start(
        name: &'static str,
        discord: &FakeDiscord,
        openai: &FakeOpenAi,
        db_url: &str,
        extra: &[(&str, &str)],
        dir: &std::path::Path,
    ) -> Process {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut command = crate::process::bot_command(discord, openai, db_url);
        command
            .env("PERSONABOT__BOT__RELATIONSHIP_JUDGEMENT", "false")
            // A consolidation run every two seconds: the "forced" nightly run.
            .env("PERSONABOT__SCHEDULE__CONSOLIDATION_CRON", "*/2 * * * * *")
            .env(
                "RUST_LOG",
                "info,serenity=warn,sqlx=warn,sea_orm=warn,tokio_cron_scheduler=warn",
            )
            .current_dir(dir)
            .stdout(out)
            .stderr(err);
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command.spawn().expect("start a bot process");
        Process {
            name,
            child: Some(child),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    async fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("send SIGTERM");
        assert!(sent.success());
        let exit = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait");
        assert!(
            exit.success(),
            "{} exited with {exit}:\n{}",
            self.name,
            self.log()
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn is_extraction(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("pick out durable facts about")
}

fn is_status(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("Write your Discord custom status")
}

/// Extraction requests for the member shown as `name`.
fn extractions_of(openai: &FakeOpenAi, name: &str) -> usize {
    let head = format!("Member: \"{name}\"\n");
    openai
        .requests()
        .iter()
        .filter(|r| is_extraction(r) && r.user_text().starts_with(&head))
        .count()
}

fn facts(pairs: &[&str]) -> Reply {
    let facts: Vec<Value> = pairs
        .iter()
        .map(|fact| json!({"fact": fact, "category": "general"}))
        .collect();
    Reply::json(json!({ "facts": facts }))
}

/// A model server that answers mentions with `answer` and extracts one fact per member;
/// `first` (rules match in order) comes before those.
async fn model(answer: &'static str, first: Option<Rule>) -> FakeOpenAi {
    let openai = FakeOpenAi::start().await;
    if let Some(rule) = first {
        openai.script(rule);
    }
    for (name, fact) in [
        ("alice", "Alice likes green tea"),
        ("ally", "Alice plays the cello"),
        ("bob", "Bob collects slowpoke cards"),
    ] {
        let head = format!("Member: \"{name}\"\n");
        openai.script(
            Rule::when(move |r: &OpenAiRequest| {
                is_extraction(r) && r.user_text().starts_with(&head)
            })
            .reply(facts(&[fact])),
        );
    }
    openai.script(Rule::when(is_status).reply(Reply::text("Humming along")));
    openai.set_default(Reply::text(answer));
    openai
}

fn texts(discord: &FakeDiscord, channel: u64) -> Vec<String> {
    posts_to(discord, channel)
        .iter()
        .filter_map(|r| r.content().map(str::to_owned))
        .collect()
}

async fn stored_facts(store: &Store) -> Vec<(i64, i64, String)> {
    let mut all: Vec<(i64, i64, String)> = memory_facts::Entity::find()
        .all(store.reader())
        .await
        .expect("read facts")
        .into_iter()
        .map(|f| (f.guild_id, f.user_id, f.fact))
        .collect();
    all.sort();
    all
}

fn mention(text: &str) -> String {
    format!("<@{}> {text}", ids::BOT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shard_processes_and_a_standby_share_one_postgres() {
    let options = DiscordOptions {
        shard_count: 2,
        ..DiscordOptions::default()
    };
    let discord = FakeDiscord::start_with(World::sharded(), options).await;
    // A's extraction for Bob never returns: A is mid-run when it is killed.
    let bob_hangs = Rule::when(|r: &OpenAiRequest| {
        is_extraction(r) && r.user_text().starts_with("Member: \"bob\"\n")
    })
    .reply(Reply::Hang);
    let (model_a, model_b, model_s) = (
        model("Hello from A", Some(bob_hangs)).await,
        model("Hello from B", None).await,
        model("Hello from S", None).await,
    );
    let db = TestDb::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = db.store().await;
    // A temporary ban that ran out in a server of each shard: each is lifted by its owner.
    let troll = 3_500;
    let expired = chrono::Utc::now() - chrono::Duration::minutes(1);
    for guild in [ids::GUILD, ids::FAR_GUILD] {
        discord.with_world(|w| {
            w.guild_mut(guild).expect("guild").bans.insert(
                troll,
                fakes::world::Ban {
                    user: fakes::world::User::new(troll, "troll"),
                    reason: None,
                },
            );
        });
        personabot::store::admin::record_case(
            store.writer(),
            GuildId(guild),
            ModAction::Ban,
            UserId(troll),
            UserId(ids::OWNER),
            Some("spam".into()),
            Some(expired),
            expired - chrono::Duration::hours(1),
        )
        .await
        .expect("a temporary ban");
    }

    let sharding = |range| {
        [
            ("PERSONABOT__DISCORD__SHARD_COUNT", "2"),
            ("PERSONABOT__DISCORD__SHARDS", range),
            // A killed process's shards are taken over within six seconds; a live one, even
            // starved of CPU by the tests around it, renews well within them.
            ("PERSONABOT__DISCORD__LEASE_TTL_SECS", "6"),
            ("PERSONABOT__MODERATION__BAN_CHECK_INTERVAL_MS", "200"),
        ]
    };
    let mut a = Process::start(
        "A",
        &discord,
        &model_a,
        &db.url,
        &sharding("0..1"),
        dir.path(),
    );
    let mut b = Process::start(
        "B",
        &discord,
        &model_b,
        &db.url,
        &sharding("1-1"),
        dir.path(),
    );
    discord.wait_for_ready(LONG).await.expect("both shards up");
    let mut s = Process::start(
        "S",
        &discord,
        &model_s,
        &db.url,
        &sharding("0..1"),
        dir.path(),
    );
    eventually("S to stand by", || async {
        s.log().contains("standing by").then_some(())
    })
    .await;
    assert_eq!(
        (discord.sessions_started(0), discord.sessions_started(1)),
        (1, 1),
        "the standby does not connect while A runs shard 0"
    );

    // Each due ban is lifted once, by the owner of its server.
    for guild in [ids::GUILD, ids::FAR_GUILD] {
        let unbans = || {
            discord
                .requests()
                .iter()
                .filter(|r| r.is("DELETE", &format!("/guilds/{guild}/bans/{troll}")))
                .count()
        };
        eventually(&format!("the ban in {guild} lifted"), || async {
            (unbans() > 0).then_some(())
        })
        .await;
        eventually("the unban recorded", || async {
            let cases =
                personabot::store::modlog::cases_for(store.reader(), GuildId(guild), UserId(troll))
                    .await
                    .ok()?;
            (cases.len() == 2 && cases.iter().any(|c| c.lifted_at.is_some())).then_some(())
        })
        .await;
        assert_eq!(unbans(), 1, "one unban request in {guild}");
    }

    // Every mention is answered once, by the process owning its server.
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("hi from general"))
        .await;
    discord
        .user_says(ids::OTHER_GENERAL, ids::ALICE, &mention("hi from other"))
        .await;
    discord
        .user_says(ids::FAR_GENERAL, ids::ALICE, &mention("hi from far"))
        .await;
    discord
        .user_says(ids::GENERAL, ids::BOB, "I collect slowpoke cards")
        .await;
    for (channel, from) in [
        (ids::GENERAL, "Hello from A"),
        (ids::OTHER_GENERAL, "Hello from A"),
        (ids::FAR_GENERAL, "Hello from B"),
    ] {
        eventually(&format!("an answer in {channel}"), || async {
            (!texts(&discord, channel).is_empty()).then_some(())
        })
        .await;
        assert_eq!(texts(&discord, channel), vec![from.to_owned()], "{channel}");
    }

    // The consolidation runs: each member of each server once, by its owner. A hangs on Bob.
    let alice_far = (
        (ids::FAR_GUILD) as i64,
        ids::ALICE as i64,
        "Alice likes green tea".to_owned(),
    );
    let consolidated = async {
        loop {
            let all = stored_facts(&store).await;
            let done = all.contains(&alice_far)
                && all
                    .iter()
                    .any(|f| f.0 == ids::GUILD as i64 && f.1 == ids::ALICE as i64)
                && all.iter().any(|f| f.0 == ids::OTHER_GUILD as i64)
                && extractions_of(&model_a, "bob") == 1;
            if done {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(LONG, consolidated).await.is_err() {
        panic!(
            "A and B did not consolidate: facts {:?}, A asked for {:?}\nA:\n{}\nB:\n{}",
            stored_facts(&store).await,
            model_a
                .requests()
                .iter()
                .map(|r| r.user_text().chars().take(60).collect::<String>())
                .collect::<Vec<_>>(),
            a.log(),
            b.log()
        );
    }
    assert_eq!(extractions_of(&model_b, "alice"), 1);
    assert_eq!(
        extractions_of(&model_b, "bob") + extractions_of(&model_b, "ally"),
        0
    );

    // A dies mid-run; S takes shard 0 over once A's lease runs out, and finishes the run.
    a.kill();
    let killed = std::time::Instant::now();
    eventually("S took shard 0 over", || async {
        (discord.sessions_started(0) == 2 && discord.shard_connected(0)).then_some(())
    })
    .await;
    eprintln!(
        "takeover: S connected shard 0 {:.1} s after A was killed (lease time 6 s)",
        killed.elapsed().as_secs_f64()
    );
    let bob = (
        ids::GUILD as i64,
        ids::BOB as i64,
        "Bob collects slowpoke cards".to_owned(),
    );
    eventually("S consolidated Bob", || async {
        stored_facts(&store).await.contains(&bob).then_some(())
    })
    .await;
    // Nothing was done twice: each member consolidated once (Bob's interrupted extraction
    // redone by S, his fact stored once), each mention answered once.
    let all = stored_facts(&store).await;
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(all, unique, "no fact stored twice");
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        extractions_of(&model_s, "bob"),
        1,
        "S redid only the unfinished member"
    );
    assert_eq!(
        extractions_of(&model_s, "alice") + extractions_of(&model_s, "ally"),
        0,
        "S asked {:#?}\nS:\n{}\nA:\n{}",
        model_s
            .requests()
            .iter()
            .map(|r| r.user_text().chars().take(200).collect::<String>())
            .collect::<Vec<_>>(),
        s.log(),
        a.log()
    );
    assert_eq!(extractions_of(&model_a, "alice"), 1);
    assert_eq!(extractions_of(&model_a, "ally"), 1);
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("still there?"))
        .await;
    eventually("S answers in GENERAL", || async {
        (texts(&discord, ids::GENERAL).len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        texts(&discord, ids::GENERAL),
        vec!["Hello from A".to_owned(), "Hello from S".to_owned()]
    );
    assert_eq!(texts(&discord, ids::OTHER_GENERAL).len(), 1);
    assert_eq!(texts(&discord, ids::FAR_GENERAL).len(), 1);
    for guild in [ids::GUILD, ids::FAR_GUILD] {
        let cases =
            personabot::store::modlog::cases_for(store.reader(), GuildId(guild), UserId(troll))
                .await
                .expect("cases");
        assert_eq!(
            cases.len(),
            2,
            "the ban and one unban in {guild}: {cases:?}"
        );
        let unbans = discord
            .requests()
            .iter()
            .filter(|r| r.is("DELETE", &format!("/guilds/{guild}/bans/{troll}")))
            .count();
        assert_eq!(unbans, 1, "still one unban request in {guild}");
    }
    // One mood roll and one status for the whole bot.
    let rolls: usize = [&a, &b, &s]
        .iter()
        .map(|p| p.log().matches("new mood for the day").count())
        .sum();
    assert_eq!(rolls, 1, "mood rolls");
    let statuses: usize = [&model_a, &model_b, &model_s]
        .iter()
        .map(|m| m.requests().iter().filter(|r| is_status(r)).count())
        .sum();
    assert_eq!(statuses, 1, "status generations");

    // Clean shutdowns give their leases up at once.
    s.terminate().await;
    b.terminate().await;
    for lease in ["shards:0-0/2", "shards:1-1/2", "new_day"] {
        assert_eq!(
            personabot::store::leases::holder(store.reader(), lease)
                .await
                .expect("read"),
            None,
            "{lease}\nS:\n{}\nB:\n{}",
            s.log(),
            b.log()
        );
    }
}

/// SQLite serves one process: a second bot on the same file stops at once with a clear
/// message, and the first keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_one_sqlite_file_is_refused() {
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut first = Process::start("first", &discord, &openai, &db.url, &[], dir.path());
    discord.wait_for_ready(LONG).await.expect("the first runs");
    let second = Command::new(env!("CARGO_BIN_EXE_personabot"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PERSONABOT__DISCORD__API_BASE", discord.rest_base())
        .env("PERSONABOT__DISCORD__TOKEN", "fake-token")
        .env("PERSONABOT__LLM__BASE_URL", openai.base_url())
        .env("PERSONABOT__DATABASE__URL", &db.url)
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .output()
        .expect("run a second bot");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another personabot process is already using the SQLite database")
            && stderr.contains("PostgreSQL"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(discord.sessions_started(0), 1, "the second never connected");
    first.terminate().await;
}

/// `discord.shard_count: auto` takes Discord's recommendation, and one process with no
/// range runs every shard: both shards identify with `[id, 2]`, and servers on either are
/// answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_shard_count_runs_every_shard_in_one_process() {
    let options = DiscordOptions {
        shard_count: 2,
        ..DiscordOptions::default()
    };
    let discord = FakeDiscord::start_with(World::sharded(), options).await;
    let openai = FakeOpenAi::start().await;
    openai.set_default(Reply::text("Hello from everywhere"));
    let db = TestDb::new(Backend::Sqlite).await;
    let settings = crate::support::settings(
        &discord,
        &openai,
        &db.url,
        &[("PERSONABOT__DISCORD__SHARD_COUNT", "auto")],
    );
    let app = personabot::app::App::start(settings)
        .await
        .expect("bot starts");
    // serenity boots the shards of one process 5 s apart.
    let both = std::time::Duration::from_secs(30);
    discord.wait_for_ready(both).await.expect("both shards up");
    let mut shards: Vec<Value> = discord
        .gateway_received()
        .into_iter()
        .filter(|p| p["op"] == 2)
        .map(|p| p["d"]["shard"].clone())
        .collect();
    shards.sort_by_key(Value::to_string);
    assert_eq!(shards, vec![json!([0, 2]), json!([1, 2])]);
    for channel in [ids::GENERAL, ids::FAR_GENERAL] {
        discord
            .user_says(channel, ids::ALICE, &mention("are you there?"))
            .await;
        eventually(&format!("an answer in {channel}"), || async {
            (texts(&discord, channel) == vec!["Hello from everywhere".to_owned()]).then_some(())
        })
        .await;
    }
    assert_eq!(app.ownership.scope(), "all");
    app.shutdown().await.expect("clean shutdown");
}

/// Two processes with the same settings on one PostgreSQL database: the second stands by
/// (it never identifies), and takes over at once when the first shuts down cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_with_the_same_settings_is_a_standby() {
    let discord = FakeDiscord::start(World::default()).await;
    let openai = FakeOpenAi::start().await;
    openai.set_default(Reply::text("Still here"));
    let db = TestDb::new(Backend::Postgres).await;
    let settings = || crate::support::settings(&discord, &openai, &db.url, &[]);
    let first = personabot::app::App::start(settings())
        .await
        .expect("first starts");
    first.wait_ready(LONG).await.expect("first connected");
    let second = personabot::app::App::start(settings())
        .await
        .expect("second starts");
    assert!(
        second
            .wait_ready(std::time::Duration::from_secs(2))
            .await
            .is_err(),
        "the second stands by"
    );
    assert_eq!(discord.sessions_started(0), 1);
    assert!(first.ownership.is_active() && !second.ownership.is_active());
    first.shutdown().await.expect("first stops");
    second
        .wait_ready(LONG)
        .await
        .expect("the standby took over");
    assert_eq!(discord.sessions_started(0), 2);
    discord
        .user_says(ids::GENERAL, ids::ALICE, &mention("who is there?"))
        .await;
    eventually("the standby answers", || async {
        (texts(&discord, ids::GENERAL) == vec!["Still here".to_owned()]).then_some(())
    })
    .await;
    second.shutdown().await.expect("second stops");
}
