//! Sandbox: chat with the bot in a terminal, without a Discord server.
//!
//! ```sh
//! cargo run --example sandbox
//! printf '@hello there\n/quit\n' | cargo run --example sandbox
//! ```
//!
//! Starts an in-process fake Discord (one server, one channel, `#general`) and the whole bot
//! against it, exactly as `main` builds it (only the REST base URL and the token differ).
//! The LLM is the in-process fake OpenAI server (`model.rs`: an answer of the right shape
//! for every prompt, so memory forms offline) unless
//! `PERSONABOT__LLM__BASE_URL` is set in the environment or `.env`: then it is that
//! OpenAI-compatible endpoint (OpenAI, Ollama, vLLM) with `PERSONABOT__LLM__API_KEY` and
//! `PERSONABOT__LLM__CHAT_MODEL`. The database is `./data/sandbox.sqlite` unless
//! `PERSONABOT__DATABASE__URL` is set. A `settings.yaml` in the working directory applies.
//!
//! The web console runs beside it (`console.listen`, 127.0.0.1:8080 by default): its address
//! and one-time login code are printed at start.
//!
//! You type as the member `alice`; see `/help` for the commands. What the bot does (replies,
//! reactions, typing, status) is printed as the fake Discord receives it.

mod model;

use fakes::world::{Member, User};
use fakes::{FakeDiscord, FakeOpenAi, RecordedRequest, World, ids, payloads};
use personabot::app::App;
use personabot::app::launch::launch;
use personabot::config::{Settings, Sources, TelemetrySettings};
use personabot::console::SetupFiles;
use personabot::domain::{ChannelId, GuildId, PersonaKind};
use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt as _;

const CHANNEL: u64 = ids::GENERAL;
const DEFAULT_DB: &str = "sqlite://data/sandbox.sqlite?mode=rwc";
/// How long a piped session waits for an answer to a line that addresses the bot.
const ANSWER_WAIT: Duration = Duration::from_secs(120);
/// A piped line nobody answers counts as handled after this much quiet.
const QUIET: Duration = Duration::from_millis(800);

const HELP: &str = "\
  text               say something as the current member
  @text | /mention text   mention the bot
  /reply text        reply to the bot's last message
  /as NAME           speak as another member (alice, bob, carol, or a new name)
  /proactive         run a proactive tick now
  /consolidate       run a memory consolidation now
  /status            generate a new daily mood and status
  /persona           list the persona; /persona add KIND TEXT (trait, lore, fact, quirk)
  /help              this list
  /quit              stop (end of input works too)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    let real_llm = env
        .iter()
        .find(|(k, v)| k == "PERSONABOT__LLM__BASE_URL" && !v.trim().is_empty())
        .map(|(_, v)| v.clone());
    let set = |env: &mut Vec<(String, String)>, key: &str, value: String| {
        env.retain(|(k, _)| k != key);
        env.push((key.to_owned(), value));
    };
    let set_default = |env: &mut Vec<(String, String)>, key: &str, value: &str| {
        if !env.iter().any(|(k, _)| k == key) {
            env.push((key.to_owned(), value.to_owned()));
        }
    };

    // The bot's name decides how it is addressed; the fake world's bot user carries it.
    let base = Settings::load(Sources {
        file: Some(Path::new("settings.yaml")),
        env: env.clone(),
    })?;
    let mut world = World::default().with_bot_name(base.bot.name.clone());
    world.channels.retain(|c| c.id == CHANNEL);
    world.guild_name = "Sandbox".into();
    let discord = FakeDiscord::start(world).await;

    set(
        &mut env,
        "PERSONABOT__DISCORD__API_BASE",
        discord.rest_base(),
    );
    // The fake's token, never a real one from .env.
    set(&mut env, "PERSONABOT__DISCORD__TOKEN", "fake-token".into());
    let openai = match &real_llm {
        Some(_) => None,
        None => {
            let openai = FakeOpenAi::start().await;
            openai.set_default(model::sandbox_model());
            set(&mut env, "PERSONABOT__LLM__BASE_URL", openai.base_url());
            set(&mut env, "PERSONABOT__LLM__API_KEY", "sk-fake".into());
            Some(openai)
        }
    };
    set_default(&mut env, "PERSONABOT__DATABASE__URL", DEFAULT_DB);
    // `/proactive` should really post something: roll every time unless configured.
    set_default(&mut env, "PERSONABOT__SCHEDULE__PROACTIVE_CHANCE", "1");
    let settings = Settings::load(Sources {
        file: Some(Path::new("settings.yaml")),
        env,
    })?;
    if settings.database.url.starts_with("sqlite://data/") {
        std::fs::create_dir_all("data")?;
    }
    personabot::telemetry::init(&TelemetrySettings {
        filter: "warn,serenity=error".into(),
        json: false,
    });

    let bot_name = settings.bot.name.clone();
    println!("personabot sandbox: #general in a fake Discord server");
    match &real_llm {
        Some(url) => println!("  LLM: {url} (model {})", settings.llm.chat_model),
        None => println!(
            "  LLM: the sandbox's stand-in model (set PERSONABOT__LLM__BASE_URL for a real one)"
        ),
    }
    println!("  database: {}", settings.database.url);
    let console = settings.console.enabled;
    let env_file = std::path::PathBuf::from("data/sandbox.env");
    let app = match launch(settings.clone(), SetupFiles { env_file }).await {
        Ok(launched) => launched.into_app().await?,
        Err(error) if console => {
            println!("  console not started ({error:#}); running without it");
            let mut settings = settings;
            settings.console.enabled = false;
            App::start(settings).await?
        }
        Err(error) => return Err(error),
    };
    app.wait_ready(Duration::from_secs(20)).await?;
    personabot::store::settings::set_channel_proactive(
        app.database.writer(),
        Some(GuildId(ids::GUILD)),
        ChannelId(CHANNEL),
        true,
        chrono::Utc::now(),
    )
    .await?;
    println!("  connected as {bot_name}. You are alice. /help lists the commands.\n");

    // Subscribe before counting, so no request falls between the two.
    let feed = discord.subscribe();
    let activity = Arc::new(Mutex::new(Activity {
        last: Instant::now(),
        shown: discord.requests().len(),
    }));
    let printer = tokio::spawn(print_rest(feed, bot_name.clone(), activity.clone()));
    let presence = tokio::spawn(print_presence(discord.clone()));

    let interactive = std::io::stdin().is_terminal();
    let mut session = Session {
        discord: discord.clone(),
        app: &app,
        me: (ids::ALICE, "alice".into()),
        interactive,
        activity,
    };
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !interactive {
            println!("{}: {line}", session.me.1);
        }
        if !session.handle(line).await {
            break;
        }
    }
    session.settle().await;
    drop(session);
    println!("  stopping…");
    app.shutdown().await?;
    printer.abort();
    presence.abort();
    drop(openai);
    Ok(())
}

struct Session<'a> {
    discord: FakeDiscord,
    app: &'a App,
    /// The member typing: id and name.
    me: (u64, String),
    interactive: bool,
    activity: Arc<Mutex<Activity>>,
}

impl Session<'_> {
    /// Handles one line; false to stop.
    async fn handle(&mut self, line: &str) -> bool {
        let (command, rest) = match line.strip_prefix('/') {
            Some(cmd) => cmd.split_once(' ').unwrap_or((cmd, "")),
            None => ("", line),
        };
        let rest = rest.trim();
        match command {
            "" => match rest.strip_prefix('@') {
                Some(text) => self.mention(text.trim()).await,
                None => self.say(rest, None, false).await,
            },
            "mention" => self.mention(rest).await,
            "reply" => match self.last_bot_message() {
                Some(id) => self.say(rest, Some(id), true).await,
                None => println!("  (the bot has not said anything yet)"),
            },
            "as" => self.switch(rest).await,
            "proactive" => match self.app.proactive.run_now(ANSWER_WAIT).await {
                Ok(Ok(decisions)) => {
                    for (channel, decision) in decisions {
                        println!("  proactive in {channel}: {decision:?}");
                    }
                    self.settle().await;
                }
                Ok(Err(error)) => println!("  proactive tick failed: {error}"),
                Err(error) => println!("  proactive tick failed: {error}"),
            },
            "consolidate" => match self.app.consolidator.run_now(ANSWER_WAIT * 5).await {
                Ok(Ok(r)) => println!(
                    "  consolidated: {} members, {} facts added, {} bumped, {} superseded, {} messages archived",
                    r.users_done,
                    r.facts_added,
                    r.facts_bumped,
                    r.facts_superseded,
                    r.messages_archived
                ),
                Ok(Err(error)) => println!("  consolidation failed: {error}"),
                Err(error) => println!("  consolidation failed: {error}"),
            },
            "status" => {
                match self.app.status.run_now(ANSWER_WAIT).await {
                    Ok(Ok(status)) => println!("  new status: {status}"),
                    Ok(Err(error)) => println!("  no new status: {error}"),
                    Err(error) => println!("  no new status: {error}"),
                }
                self.settle().await;
            }
            "persona" => self.persona(rest).await,
            "help" => println!("{HELP}"),
            "quit" | "exit" => return false,
            other => println!("  unknown command /{other}; /help lists them"),
        }
        true
    }

    async fn mention(&mut self, text: &str) {
        let content = format!("<@{}> {text}", ids::BOT);
        self.say(&content, None, true).await;
    }

    /// Posts a message as the current member. Piped input waits for the bot to answer (or
    /// to stay quiet) so the transcript reads in order.
    async fn say(&mut self, content: &str, reply_to: Option<u64>, addressed: bool) {
        let message = match reply_to {
            Some(id) => {
                self.discord
                    .user_replies(CHANNEL, self.me.0, content, id)
                    .await
            }
            None => self.discord.user_says(CHANNEL, self.me.0, content).await,
        };
        if self.interactive {
            return;
        }
        let name = self.app_bot_name();
        let addressed = addressed || content.to_lowercase().contains(&name.to_lowercase());
        if addressed {
            let id = message["id"].as_str().unwrap_or_default().to_owned();
            let answered = self
                .discord
                .wait_for_request(
                    move |r| {
                        r.is("POST", "/messages")
                            && r.body.as_ref().is_some_and(|b| {
                                b["message_reference"]["message_id"].as_str() == Some(id.as_str())
                            })
                    },
                    ANSWER_WAIT,
                )
                .await;
            if answered.is_err() {
                println!("  (no answer within {ANSWER_WAIT:?})");
            }
        }
        self.settle().await;
    }

    fn app_bot_name(&self) -> String {
        self.discord.world().bot.name
    }

    /// Waits until everything the bot did is printed and it has been quiet on REST for a
    /// moment (piped input only, so the transcript reads in order).
    async fn settle(&self) {
        if self.interactive {
            return;
        }
        let deadline = Instant::now() + ANSWER_WAIT;
        loop {
            let recorded = self.discord.requests().len();
            let Activity { last, shown } = *self.activity.lock().unwrap_or_else(|e| e.into_inner());
            let quiet = last.elapsed();
            if (shown >= recorded && quiet >= QUIET) || Instant::now() >= deadline {
                return;
            }
            let pause = QUIET.saturating_sub(quiet).max(Duration::from_millis(20));
            tokio::time::sleep(pause).await;
        }
    }

    fn last_bot_message(&self) -> Option<u64> {
        let world = self.discord.world();
        world
            .messages_in(CHANNEL)
            .iter()
            .rev()
            .find(|m| m["author"]["id"].as_str() == Some(ids::BOT.to_string().as_str()))
            .and_then(fakes::world::id_of)
    }

    /// `/as NAME`: an existing member by name, or a new one who joins the server.
    async fn switch(&mut self, name: &str) {
        if name.is_empty() {
            println!("  you are {}", self.me.1);
            return;
        }
        let known = self
            .discord
            .world()
            .members
            .iter()
            .find(|m| m.user.name.eq_ignore_ascii_case(name))
            .map(|m| m.user.id);
        let id = match known {
            Some(id) => id,
            None => {
                let joined = self.discord.with_world(|w| {
                    let id = w.next_id();
                    let member = Member::new(User::new(id, name));
                    w.members.push(member.clone());
                    payloads::guild_member_add(w, &member)
                });
                self.discord
                    .dispatch("GUILD_MEMBER_ADD", joined.clone())
                    .await;
                fakes::world::id_of(&joined["user"]).unwrap_or_default()
            }
        };
        self.me = (id, name.to_owned());
        println!("  you are now {name}");
    }

    async fn persona(&self, rest: &str) {
        let store = &self.app.store;
        match rest.split_once(' ') {
            None if rest.is_empty() => match store.persona_entries(None).await {
                Ok(entries) => {
                    for entry in entries {
                        println!("  #{} {:?}: {}", entry.id, entry.kind, entry.content);
                    }
                }
                Err(error) => println!("  could not read the persona: {error}"),
            },
            Some(("add", args)) => {
                let (kind, text) = args.trim().split_once(' ').unwrap_or((args.trim(), ""));
                let kind = match kind.parse::<PersonaKind>() {
                    Ok(kind) => kind,
                    Err(error) => return println!("  {error}"),
                };
                if text.trim().is_empty() {
                    return println!("  usage: /persona add KIND TEXT");
                }
                match store
                    .add_persona_entry(None, kind, text.trim().to_owned(), None)
                    .await
                {
                    Ok(entry) => println!("  added #{}", entry.id),
                    Err(error) => println!("  persona not changed: {error}"),
                }
            }
            _ => println!("  usage: /persona, or /persona add KIND TEXT"),
        }
    }
}

/// What the printer has shown of the bot's REST requests, and when the last one came.
#[derive(Clone, Copy)]
struct Activity {
    last: Instant,
    shown: usize,
}

/// Prints what the bot does over REST, as it happens.
async fn print_rest(
    mut feed: tokio::sync::broadcast::Receiver<RecordedRequest>,
    bot: String,
    activity: Arc<Mutex<Activity>>,
) {
    loop {
        let request = match feed.recv().await {
            Ok(request) => request,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                println!("  ({n} bot actions not shown)");
                activity.lock().unwrap_or_else(|e| e.into_inner()).shown += n as usize;
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if let Some(line) = describe(&request, &bot) {
            println!("{line}");
        }
        let mut seen = activity.lock().unwrap_or_else(|e| e.into_inner());
        seen.last = Instant::now();
        seen.shown += 1;
    }
}

fn describe(r: &RecordedRequest, bot: &str) -> Option<String> {
    let path = r.decoded_path();
    let path = path.strip_prefix("/api/v10").unwrap_or(&path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (r.method.as_str(), segments.as_slice()) {
        ("POST", ["channels", _, "messages"]) => {
            let replying = r.body.as_ref().and_then(|b| {
                b["message_reference"]["message_id"]
                    .as_str()
                    .map(str::to_owned)
            });
            let marker = replying.map(|_| " ↩").unwrap_or_default();
            Some(format!(
                "{bot}{marker}: {}",
                r.content().unwrap_or("(no text)")
            ))
        }
        ("POST", ["channels", _, "typing"]) => Some(format!("  … {bot} is typing")),
        (
            "PUT",
            [
                "channels",
                _,
                "messages",
                message,
                "reactions",
                emoji,
                "@me",
            ],
        ) => Some(format!("  {bot} reacted {emoji} to message {message}")),
        ("PATCH", ["channels", _, "messages", message]) => Some(format!(
            "  {bot} edited message {message}: {}",
            r.content().unwrap_or("")
        )),
        ("DELETE", ["channels", _, "messages", message]) => {
            Some(format!("  {bot} deleted message {message}"))
        }
        // Start-up and lookups are noise here.
        ("GET", _) | ("PUT", ["applications", ..]) => None,
        _ => Some(format!("  [{} {path}]", r.method)),
    }
}

/// Prints each presence (status) update the bot sends over the gateway.
async fn print_presence(discord: FakeDiscord) {
    let mut shown: Vec<serde_json::Value> = Vec::new();
    loop {
        let presences: Vec<_> = discord
            .gateway_received()
            .into_iter()
            .filter(|p| p["op"] == 3)
            .collect();
        for p in presences.iter().skip(shown.len()) {
            let activity = &p["d"]["activities"][0];
            let text = activity["state"]
                .as_str()
                .or_else(|| activity["name"].as_str())
                .unwrap_or("(none)");
            println!("  [status] {text}");
        }
        shown = presences;
        // Waits for a presence not shown yet (the wait also sees past payloads).
        let _ = discord
            .wait_for_gateway(
                |p| p["op"] == 3 && !shown.contains(p),
                Duration::from_secs(3600),
            )
            .await;
    }
}
