//! [`FakeDiscord`]: the handle tests hold, and the state its REST and gateway servers share.
//!
//! Both servers run as tasks on the test's tokio runtime; they and the handle share one
//! [`Inner`]. Its mutexes are std ones (never held across `.await`), which keeps the REST
//! routes plain synchronous functions.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, mpsc};

use crate::payloads::{self, InteractionKind, Invocation};
use crate::record::{Log, RecordedRequest, WaitError, lock, wait_until};
use crate::world::World;
use crate::{gateway, rest};

/// Knobs of the fake Discord that are not part of the world.
#[derive(Clone, Debug)]
pub struct DiscordOptions {
    /// The token IDENTIFY must carry, without the `Bot ` prefix serenity adds.
    pub token: String,
    /// Sent in HELLO. The default (Discord's 41250 ms) means short tests never heartbeat;
    /// set a few hundred ms to exercise heartbeats.
    pub heartbeat_interval_ms: u64,
    /// Whether the bot's own REST actions come back over the gateway as Discord does
    /// (MESSAGE_CREATE for its messages, GUILD_MEMBER_UPDATE for timeouts, ...). On by
    /// default so a bot that answers itself is caught.
    pub echo_bot_actions: bool,
}

impl Default for DiscordOptions {
    fn default() -> Self {
        Self {
            token: "fake-token".into(),
            heartbeat_interval_ms: 41_250,
            echo_bot_actions: true,
        }
    }
}

/// Which requests a [`Failure`] applies to: an optional method plus a path substring.
#[derive(Clone, Debug)]
pub struct RouteMatcher {
    pub method: Option<String>,
    pub path_contains: String,
}

impl RouteMatcher {
    /// `RouteMatcher::new("POST", "/channels/4000/messages")`.
    pub fn new(method: &str, path_contains: &str) -> Self {
        Self {
            method: Some(method.to_ascii_uppercase()),
            path_contains: path_contains.into(),
        }
    }

    /// Any method on a path containing `path_contains`.
    pub fn path(path_contains: &str) -> Self {
        Self {
            method: None,
            path_contains: path_contains.into(),
        }
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.contains(&self.path_contains)
    }
}

/// How an injected failure answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// 429 with Discord's body and `Retry-After` (this route's bucket).
    RateLimited { retry_after_secs: f64 },
    /// 429 for Discord's global limit: every route must wait.
    GlobalRateLimited { retry_after_secs: f64 },
    /// Any status, e.g. 500 or 503, with a Discord-style error body.
    Status(u16),
    /// A Discord error with its JSON code, e.g. 403 / 50013 "Missing Permissions".
    Discord {
        status: u16,
        code: u32,
        message: String,
    },
}

#[derive(Debug)]
pub(crate) struct PendingFailure {
    pub matcher: RouteMatcher,
    pub failure: Failure,
    pub remaining: usize,
}

/// A slash command (or autocomplete) the fake sent.
#[derive(Clone, Debug)]
pub struct InteractionHandle {
    pub id: u64,
    pub token: String,
    /// The INTERACTION_CREATE `d` that was dispatched.
    pub payload: Value,
}

/// What the fake knows about an interaction token, to serve `@original` and to refuse a
/// second initial response like Discord does (code 40060).
#[derive(Clone, Debug, Default)]
pub(crate) struct InteractionState {
    pub channel_id: u64,
    pub acknowledged: bool,
    /// The original response message (after callback type 4, or created by an edit after a
    /// deferral).
    pub original: Option<Value>,
}

pub(crate) enum Outbound {
    Frame(Value),
    /// Drop the TCP connection without a close frame.
    Drop,
}

pub(crate) struct Live {
    pub conn_id: u64,
    pub tx: mpsc::UnboundedSender<Outbound>,
}

/// The gateway session as the fake sees it.
#[derive(Default)]
pub(crate) struct GatewayState {
    pub session_id: Option<String>,
    /// Last `s` assigned in the current session.
    pub seq: u64,
    /// Every dispatch frame of the current session, for RESUME replay.
    pub log: Vec<Value>,
    /// Highest `s` handed to a live connection.
    pub delivered: u64,
    /// Dispatches made before any session existed; delivered after the first READY.
    pub before_first_session: Vec<(String, Value)>,
    pub live: Option<Live>,
    pub next_conn_id: u64,
    pub sessions_started: u64,
    pub resumes: u64,
    /// While set, a RESUME is recorded but not answered (the session stays down).
    pub hold_resumes: bool,
    /// RESUMEs waiting for [`FakeDiscord::release_resumes`]: connection, its sender, payload.
    pub held: Vec<(u64, mpsc::UnboundedSender<Outbound>, Value)>,
}

impl GatewayState {
    /// Assigns the next `s` and delivers the frame to the live connection if any; otherwise
    /// it waits in `log` for a RESUME (or a fresh IDENTIFY).
    pub fn push_dispatch(&mut self, event: &str, data: Value) {
        if self.session_id.is_none() {
            self.before_first_session.push((event.to_owned(), data));
            return;
        }
        self.seq += 1;
        let frame = json!({"op": 0, "s": self.seq, "t": event, "d": data});
        self.log.push(frame.clone());
        self.send_live(frame);
    }

    pub fn send_live(&mut self, frame: Value) {
        let seq = frame.get("s").and_then(Value::as_u64);
        if let Some(live) = &self.live {
            if live.tx.send(Outbound::Frame(frame)).is_ok() {
                if let Some(s) = seq {
                    self.delivered = self.delivered.max(s);
                }
            } else {
                self.live = None;
            }
        }
    }
}

pub(crate) struct Inner {
    pub world: Mutex<World>,
    pub options: DiscordOptions,
    pub rest_addr: SocketAddr,
    pub gateway_addr: SocketAddr,
    pub requests: Arc<Log<RecordedRequest>>,
    pub gateway_received: Arc<Log<Value>>,
    pub gateway_closes: Mutex<Vec<(u16, String)>>,
    pub gateway: Mutex<GatewayState>,
    /// Fires on every gateway state change (READY sent, RESUMED sent, connection lost).
    pub gateway_changed: Notify,
    pub failures: Mutex<Vec<PendingFailure>>,
    pub interactions: Mutex<HashMap<String, InteractionState>>,
    /// Registered application commands per scope (`None` = global), as echoed back.
    pub commands: Mutex<BTreeMap<Option<u64>, Vec<Value>>>,
}

impl Inner {
    pub fn gateway_url(&self) -> String {
        format!("ws://{}", self.gateway_addr)
    }

    pub fn dispatch(&self, event: &str, data: Value) {
        lock(&self.gateway).push_dispatch(event, data);
    }

    /// Dispatches an event caused by the bot's own REST call, if echoing is on.
    pub fn echo(&self, event: &str, data: Value) {
        if self.options.echo_bot_actions {
            self.dispatch(event, data);
        }
    }
}

/// A fake Discord on 127.0.0.1: REST under `/api/v10` and a gateway websocket, sharing one
/// [`World`]. Cheap to clone; the servers stop when the test's runtime shuts down.
#[derive(Clone)]
pub struct FakeDiscord {
    inner: Arc<Inner>,
    tls_addr: std::net::SocketAddr,
}

impl FakeDiscord {
    /// Starts REST and gateway on ephemeral ports with [`DiscordOptions::default`].
    pub async fn start(world: World) -> FakeDiscord {
        Self::start_with(world, DiscordOptions::default()).await
    }

    /// # Panics
    /// If 127.0.0.1 cannot be bound (a test environment problem).
    pub async fn start_with(world: World, options: DiscordOptions) -> FakeDiscord {
        let rest_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake REST");
        let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake gateway");
        let tls_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake REST over TLS");
        let tls_addr = tls_listener.local_addr().expect("TLS addr");
        let inner = Arc::new(Inner {
            world: Mutex::new(world),
            options,
            rest_addr: rest_listener.local_addr().expect("REST addr"),
            gateway_addr: gateway_listener.local_addr().expect("gateway addr"),
            requests: Log::new(),
            gateway_received: Log::new(),
            gateway_closes: Mutex::new(Vec::new()),
            gateway: Mutex::new(GatewayState::default()),
            gateway_changed: Notify::new(),
            failures: Mutex::new(Vec::new()),
            interactions: Mutex::new(HashMap::new()),
            commands: Mutex::new(BTreeMap::new()),
        });
        tokio::spawn(crate::tls::serve(tls_listener, rest::router(inner.clone())));
        tokio::spawn(rest::serve(rest_listener, inner.clone()));
        tokio::spawn(gateway::serve(gateway_listener, inner.clone()));
        FakeDiscord { inner, tls_addr }
    }

    /// `127.0.0.1:PORT` of the same REST API served over TLS as `discord.com` (certificate
    /// signed by [`crate::tls::TEST_CA_PEM`]): resolve `discord.com` there to run the real
    /// client, ratelimiter included, against the fake.
    pub fn tls_addr(&self) -> std::net::SocketAddr {
        self.tls_addr
    }

    /// `http://127.0.0.1:PORT`: give it to serenity's `HttpBuilder::proxy` (with
    /// `ratelimiter_disabled(true)`); serenity then requests `/api/v10/...`.
    pub fn rest_base(&self) -> String {
        format!("http://{}", self.inner.rest_addr)
    }

    /// `ws://127.0.0.1:PORT`, also what `GET /gateway` answers.
    pub fn gateway_url(&self) -> String {
        self.inner.gateway_url()
    }

    /// A snapshot of the world (ids, members, timeouts, bans, history, threads).
    pub fn world(&self) -> World {
        lock(&self.inner.world).clone()
    }

    /// Changes the world while running (e.g. add a member). Nothing is dispatched.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut lock(&self.inner.world))
    }

    /// Waits until a session is identified and READY + one GUILD_CREATE per server were sent.
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<(), WaitError> {
        self.wait_gateway(
            "the bot to IDENTIFY (READY + GUILD_CREATE sent)",
            timeout,
            |g| g.sessions_started > 0 && g.live.is_some(),
        )
        .await
    }

    /// Waits until `n` RESUMEs in total were answered (replay + RESUMED sent).
    pub async fn wait_for_resumed(&self, n: u64, timeout: Duration) -> Result<(), WaitError> {
        self.wait_gateway("the bot to RESUME", timeout, |g| {
            g.resumes >= n && g.live.is_some()
        })
        .await
    }

    async fn wait_gateway(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&GatewayState) -> bool,
    ) -> Result<(), WaitError> {
        let inner = &self.inner;
        wait_until(&inner.gateway_changed, timeout, || {
            pred(&lock(&inner.gateway)).then_some(())
        })
        .await
        .ok_or_else(|| WaitError::Timeout {
            what: what.to_owned(),
            waited: timeout,
            seen: inner
                .gateway_received
                .snapshot()
                .iter()
                .map(|v| v.to_string())
                .collect(),
        })
    }

    /// Sends dispatch `event` (op 0 with the next `s`) to the connected bot. While the bot is
    /// disconnected the event waits and is replayed on RESUME (or delivered after the next
    /// READY), so nothing is lost.
    pub async fn dispatch(&self, event: &str, data: Value) {
        self.inner.dispatch(event, data);
    }

    /// `author` writes `content` in `channel`: stores the message and dispatches
    /// MESSAGE_CREATE (the channel's own server as `guild_id`, the author's member object in
    /// that server, `<@id>` mentions resolved). Returns the message JSON.
    pub async fn user_says(&self, channel: u64, author: u64, content: &str) -> Value {
        self.post_user_message(channel, author, content, None)
    }

    /// Like [`Self::user_says`], as a reply to `reply_to` (type 19 with
    /// `message_reference` and `referenced_message`).
    pub async fn user_replies(
        &self,
        channel: u64,
        author: u64,
        content: &str,
        reply_to: u64,
    ) -> Value {
        self.post_user_message(channel, author, content, Some(reply_to))
    }

    /// `author` DMs the bot: opens the DM channel if needed and dispatches MESSAGE_CREATE
    /// without `guild_id` (the bot needs the DIRECT_MESSAGES intent to see it).
    pub async fn user_dms(&self, author: u64, content: &str) -> Value {
        let channel = rest::open_dm(&mut lock(&self.inner.world), author);
        self.post_user_message(channel, author, content, None)
    }

    fn post_user_message(
        &self,
        channel: u64,
        author: u64,
        content: &str,
        reply_to: Option<u64>,
    ) -> Value {
        let message = {
            let mut world = lock(&self.inner.world);
            let id = world.next_id();
            let mut message = payloads::message(&world, id, channel, author, content);
            if let Some(referenced) = reply_to.and_then(|r| rest::find_message(&world, r)) {
                message = payloads::into_reply(message, &referenced);
            }
            world.store_message(channel, message.clone());
            message
        };
        self.inner.dispatch("MESSAGE_CREATE", message.clone());
        message
    }

    /// `author` edits their message: stores it and dispatches MESSAGE_UPDATE.
    pub async fn user_edits(&self, channel: u64, message_id: u64, content: &str) -> Option<Value> {
        let updated = rest::edit_stored(&mut lock(&self.inner.world), channel, message_id, |m| {
            payloads::message_update(m, content)
        })?;
        self.inner.dispatch("MESSAGE_UPDATE", updated.clone());
        Some(updated)
    }

    /// A user deletes a message: removes it from history and dispatches MESSAGE_DELETE.
    pub async fn user_deletes(&self, channel: u64, message_id: u64) {
        let guild = {
            let mut world = lock(&self.inner.world);
            if let Some(history) = world.messages.get_mut(&channel) {
                history.retain(|m| crate::world::id_of(m) != Some(message_id));
            }
            world.guild_of(channel)
        };
        self.inner.dispatch(
            "MESSAGE_DELETE",
            payloads::message_delete(channel, message_id, guild),
        );
    }

    /// A moderator purges `message_ids` from `channel`: removes them from history and
    /// dispatches one MESSAGE_DELETE_BULK (`{ids, channel_id, guild_id}`).
    pub async fn user_bulk_deletes(&self, channel: u64, message_ids: &[u64]) {
        let guild = {
            let mut world = lock(&self.inner.world);
            if let Some(history) = world.messages.get_mut(&channel) {
                history
                    .retain(|m| crate::world::id_of(m).is_none_or(|id| !message_ids.contains(&id)));
            }
            world.guild_of(channel)
        };
        self.inner.dispatch(
            "MESSAGE_DELETE_BULK",
            payloads::message_delete_bulk(channel, message_ids, guild),
        );
    }

    /// Discord posts a system message of `kind` (see [`payloads::message_kind`]: 7 member
    /// join, 6 pin, 8 boost, 18 thread created) on `author`'s behalf: stored and dispatched
    /// as MESSAGE_CREATE.
    pub async fn system_message(
        &self,
        channel: u64,
        author: u64,
        kind: u8,
        content: &str,
    ) -> Value {
        self.post_built(channel, |world, id| {
            payloads::system_message(world, id, channel, author, kind, content)
        })
    }

    /// Webhook `webhook_id` posts `content` as `name`: stored and dispatched as
    /// MESSAGE_CREATE with `webhook_id` set.
    pub async fn webhook_says(
        &self,
        channel: u64,
        webhook_id: u64,
        name: &str,
        content: &str,
    ) -> Value {
        self.post_built(channel, |world, id| {
            payloads::webhook_message(world, id, channel, webhook_id, name, content)
        })
    }

    fn post_built(&self, channel: u64, build: impl FnOnce(&World, u64) -> Value) -> Value {
        let message = {
            let mut world = lock(&self.inner.world);
            let id = world.next_id();
            let message = build(&world, id);
            world.store_message(channel, message.clone());
            message
        };
        self.inner.dispatch("MESSAGE_CREATE", message.clone());
        message
    }

    /// `invoker` runs `/name` in `channel` (of whichever server; the payload carries that
    /// server's `guild_id` and the invoker's member object and permissions there). `name`
    /// may hold subcommands (`"memory forget"`),
    /// `options` are the innermost option objects (see [`payloads::opt`]), e.g.
    /// `json!([opt::user("target", ids::ALICE)])`. Dispatches INTERACTION_CREATE (type 2).
    pub async fn slash_command(
        &self,
        channel: u64,
        invoker: u64,
        name: &str,
        options: Value,
    ) -> InteractionHandle {
        self.interaction(channel, invoker, name, options, InteractionKind::Command)
    }

    /// Like [`Self::slash_command`] for an autocomplete request (type 4); mark the option
    /// being typed with [`payloads::opt::focused`]. The bot answers with callback type 8.
    pub async fn autocomplete(
        &self,
        channel: u64,
        invoker: u64,
        name: &str,
        options: Value,
    ) -> InteractionHandle {
        self.interaction(
            channel,
            invoker,
            name,
            options,
            InteractionKind::Autocomplete,
        )
    }

    fn interaction(
        &self,
        channel: u64,
        invoker: u64,
        name: &str,
        options: Value,
        kind: InteractionKind,
    ) -> InteractionHandle {
        let root = name.split_whitespace().next().unwrap_or_default();
        let command_id = self.registered_command_id(root);
        let (id, token, payload) = {
            let mut world = lock(&self.inner.world);
            let id = world.next_id();
            let command_id = command_id.unwrap_or_else(|| world.next_id());
            let token = format!("fake-interaction-token-{id}");
            let inv = Invocation {
                id,
                token: &token,
                command_id,
                channel_id: channel,
                invoker,
                name,
                options,
                kind,
            };
            let payload = payloads::interaction(&world, &inv);
            (id, token, payload)
        };
        lock(&self.inner.interactions).insert(
            token.clone(),
            InteractionState {
                channel_id: channel,
                ..InteractionState::default()
            },
        );
        self.inner.dispatch("INTERACTION_CREATE", payload.clone());
        InteractionHandle { id, token, payload }
    }

    /// The id Discord gave a command the bot registered (global or guild), if any.
    pub fn registered_command_id(&self, name: &str) -> Option<u64> {
        lock(&self.inner.commands)
            .values()
            .flatten()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(crate::world::id_of)
    }

    /// The commands the bot registered: global ones under `None`, guild ones under the
    /// guild id.
    pub fn registered_commands(&self) -> BTreeMap<Option<u64>, Vec<Value>> {
        lock(&self.inner.commands).clone()
    }

    /// Every REST request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.requests.snapshot()
    }

    /// Waits for a REST request matching `pred`, including ones already recorded.
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> Result<RecordedRequest, WaitError> {
        self.inner
            .requests
            .wait_for(
                "a matching REST request",
                pred,
                timeout,
                RecordedRequest::summary,
            )
            .await
    }

    /// A live feed of REST requests (for the interactive sandbox).
    pub fn subscribe(&self) -> broadcast::Receiver<RecordedRequest> {
        self.inner.requests.subscribe()
    }

    /// Every payload the bot sent over the gateway (op 2, 1, 3, 6, ...), in order.
    pub fn gateway_received(&self) -> Vec<Value> {
        self.inner.gateway_received.snapshot()
    }

    /// Waits for a gateway payload from the bot matching `pred`, including past ones.
    pub async fn wait_for_gateway(
        &self,
        pred: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value, WaitError> {
        self.inner
            .gateway_received
            .wait_for(
                "a matching gateway payload",
                pred,
                timeout,
                Value::to_string,
            )
            .await
    }

    /// Close codes the fake sent (e.g. 4004 for a wrong token), with their reasons.
    pub fn gateway_closes(&self) -> Vec<(u16, String)> {
        lock(&self.inner.gateway_closes).clone()
    }

    /// Drops the websocket without a close frame. serenity reconnects and sends RESUME;
    /// the fake replays what the bot missed, then RESUMED (see [`Self::wait_for_resumed`]).
    pub async fn drop_connection(&self) {
        let mut g = lock(&self.inner.gateway);
        if let Some(live) = g.live.take() {
            let _ = live.tx.send(Outbound::Drop);
        }
        drop(g);
        self.inner.gateway_changed.notify_waiters();
    }

    /// From now on a RESUME is left unanswered, so after [`Self::drop_connection`] the
    /// bot's session stays down (serenity waits for RESUMED) until [`Self::release_resumes`].
    pub fn hold_resumes(&self) {
        lock(&self.inner.gateway).hold_resumes = true;
    }

    /// Answers the RESUMEs held since [`Self::hold_resumes`] (replay, then RESUMED) and
    /// answers later ones at once again.
    pub fn release_resumes(&self) {
        let held = {
            let mut g = lock(&self.inner.gateway);
            g.hold_resumes = false;
            std::mem::take(&mut g.held)
        };
        for (conn_id, tx, d) in held {
            crate::gateway::resume(&self.inner, conn_id, &tx, &d);
        }
    }

    /// Makes the next `times` requests matching `matcher` fail with `failure`.
    pub fn fail_next(&self, matcher: RouteMatcher, failure: Failure, times: usize) {
        lock(&self.inner.failures).push(PendingFailure {
            matcher,
            failure,
            remaining: times,
        });
    }
}
