//! The fake REST API under `/api/v10`.
//!
//! One axum fallback handler records every request first (so tests see even the ones that
//! fail), applies injected failures, then routes on `(method, path segments)` with slice
//! patterns. Routes are synchronous functions over the shared [`World`]; answers use
//! Discord's real shapes and error codes, and every response carries rate-limit headers.
//!
//! Lock order, to stay deadlock-free: `interactions` → `world` → `gateway`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use crate::discord::{Failure, Inner, InteractionState};
use crate::payloads;
use crate::record::{RecordedRequest, lock, parse_query};
use crate::world::{self, Ban, Channel, ThreadState, World, channel_kind, id_of, snowflake};

/// Discord caps attachments far below this; the limit only guards the fake itself.
const MAX_BODY: usize = 64 * 1024 * 1024;
const EPHEMERAL: u64 = 1 << 6;

/// The REST router, shared by the plain listener and the TLS one.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new().fallback(handle).with_state(inner)
}

pub(crate) async fn serve(listener: tokio::net::TcpListener, inner: Arc<Inner>) {
    let app = router(inner);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("fake Discord REST server stopped: {e}");
    }
}

/// A route's answer before headers are added.
pub(crate) enum Reply {
    Json(StatusCode, Value),
    Empty(StatusCode),
    RateLimited(f64),
    /// Discord's global limit (all routes): `"global": true` and `X-RateLimit-Global`.
    GlobalRateLimited(f64),
}

fn ok(v: Value) -> Reply {
    Reply::Json(StatusCode::OK, v)
}

fn no_content() -> Reply {
    Reply::Empty(StatusCode::NO_CONTENT)
}

/// Discord's error body: `{"message": "...", "code": N}`.
fn error(status: u16, code: u32, message: &str) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Reply::Json(status, json!({"message": message, "code": code}))
}

fn not_found() -> Reply {
    error(404, 0, "404: Not Found")
}

fn unknown_channel() -> Reply {
    error(404, 10003, "Unknown Channel")
}

fn unknown_message() -> Reply {
    error(404, 10008, "Unknown Message")
}

fn unknown_member() -> Reply {
    error(404, 10007, "Unknown Member")
}

fn unknown_user() -> Reply {
    error(404, 10013, "Unknown User")
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let recorded = record(&parts.method, &parts.uri, &parts.headers, &bytes);
    inner.requests.push(recorded.clone());
    let reply = match take_failure(&inner, &recorded) {
        Some(Failure::RateLimited { retry_after_secs }) => Reply::RateLimited(retry_after_secs),
        Some(Failure::GlobalRateLimited { retry_after_secs }) => {
            Reply::GlobalRateLimited(retry_after_secs)
        }
        Some(Failure::Status(code)) => {
            let reason = StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            error(code, 0, &format!("{code}: {reason}"))
        }
        Some(Failure::Discord {
            status,
            code,
            message,
        }) => error(status, code, &message),
        None => route(&inner, &recorded),
    };
    respond(reply, &recorded)
}

fn take_failure(inner: &Inner, req: &RecordedRequest) -> Option<Failure> {
    let mut failures = lock(&inner.failures);
    let idx = failures
        .iter()
        .position(|f| f.remaining > 0 && f.matcher.matches(&req.method, &req.path))?;
    let f = &mut failures[idx];
    f.remaining -= 1;
    let failure = f.failure.clone();
    if f.remaining == 0 {
        failures.remove(idx);
    }
    Some(failure)
}

fn respond(reply: Reply, req: &RecordedRequest) -> Response {
    enum Kind {
        Route,
        Global,
    }
    let reply_kind = if matches!(reply, Reply::GlobalRateLimited(_)) {
        Kind::Global
    } else {
        Kind::Route
    };
    let (status, body, remaining, retry_after) = match reply {
        Reply::Json(status, v) => (status, Some(v), 4, None),
        Reply::Empty(status) => (status, None, 4, None),
        Reply::RateLimited(secs) => {
            let body = json!({"message": "You are being rate limited.", "retry_after": secs, "global": false});
            (StatusCode::TOO_MANY_REQUESTS, Some(body), 0, Some(secs))
        }
        Reply::GlobalRateLimited(secs) => {
            let body = json!({"message": "You are being rate limited.", "retry_after": secs, "global": true});
            (StatusCode::TOO_MANY_REQUESTS, Some(body), 0, Some(secs))
        }
    };
    let global = matches!(reply_kind, Kind::Global);
    let mut response = match body {
        Some(v) => (
            status,
            [("content-type", "application/json")],
            v.to_string(),
        )
            .into_response(),
        None => (status, Body::empty()).into_response(),
    };
    let reset_after = retry_after.unwrap_or(1.0);
    let reset = Utc::now().timestamp_millis() as f64 / 1000.0 + reset_after;
    let bucket = format!("{:016x}", crate::openai::fnv1a(route_key(req).as_bytes()));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("x-ratelimit-limit", "5".into());
    set("x-ratelimit-remaining", remaining.to_string());
    set("x-ratelimit-reset", format!("{reset:.3}"));
    set("x-ratelimit-reset-after", format!("{reset_after:.3}"));
    set("x-ratelimit-bucket", bucket);
    if let Some(secs) = retry_after {
        set("retry-after", format!("{}", secs.ceil()));
        set(
            "x-ratelimit-scope",
            if global { "global" } else { "user" }.into(),
        );
        if global {
            set("x-ratelimit-global", "true".into());
        }
    }
    response
}

/// Method plus the path with ids blanked, like Discord's per-route buckets.
fn route_key(req: &RecordedRequest) -> String {
    let path: Vec<&str> = req
        .path
        .split('/')
        .map(|s| {
            if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("{} {}", req.method, path.join("/"))
}

fn record(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    bytes: &[u8],
) -> RecordedRequest {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let raw = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let value = if name == "x-audit-log-reason" {
                percent_encoding::percent_decode_str(&raw)
                    .decode_utf8_lossy()
                    .into_owned()
            } else {
                raw
            };
            (name, value)
        })
        .collect();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let (body, files) = if content_type.starts_with("multipart/form-data") {
        parse_multipart(&content_type, bytes)
    } else if bytes.is_empty() {
        (None, Vec::new())
    } else {
        let v = serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
        (Some(v), Vec::new())
    };
    RecordedRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri
            .query()
            .unwrap_or_default()
            .trim_start_matches('&')
            .to_owned(),
        headers,
        body,
        files,
    }
}

/// Minimal multipart/form-data reader: the `payload_json` part becomes the body, parts with
/// a filename become files. Enough for what serenity (reqwest's multipart) sends.
fn parse_multipart(content_type: &str, body: &[u8]) -> (Option<Value>, Vec<(String, Vec<u8>)>) {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
    else {
        return (None, Vec::new());
    };
    let delimiter = format!("--{boundary}");
    let mut payload = None;
    let mut files = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()) {
        let Some(part) = part.strip_prefix(b"\r\n") else {
            continue;
        };
        let Some(header_end) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..header_end]);
        let content = &part[header_end + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or_default();
        let param = |key: &str| {
            disposition
                .split(';')
                .find_map(|p| p.trim().strip_prefix(key))
                .map(|v| v.trim_matches('"').to_owned())
        };
        if let Some(filename) = param("filename=") {
            files.push((filename, content.to_vec()));
        } else if param("name=").as_deref() == Some("payload_json") {
            payload = serde_json::from_slice(content).ok();
        }
    }
    (payload, files)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(body, delimiter) {
        out.push(&body[..i]);
        body = &body[i + delimiter.len()..];
    }
    out.push(body);
    out
}

fn id(segment: &str) -> Option<u64> {
    segment.parse().ok()
}

/// Like Discord, `users/@me` answers 401 to a token other than the fake's (a set-up page
/// checks a token there); requests without `Authorization` are not judged.
fn token_ok(inner: &Inner, req: &RecordedRequest) -> bool {
    req.headers
        .get("authorization")
        .is_none_or(|given| *given == format!("Bot {}", inner.options.token))
}

fn route(inner: &Inner, req: &RecordedRequest) -> Reply {
    let Some(rest) = req.path.strip_prefix("/api/v10/") else {
        return not_found();
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let body = req.body.clone().unwrap_or(Value::Null);
    let method = req.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["gateway"]) => ok(payloads::gateway(&inner.gateway_url())),
        ("GET", ["gateway", "bot"]) => ok(payloads::bot_gateway_sharded(
            &inner.gateway_url(),
            inner.options.shard_count.max(1),
            inner.options.max_concurrency.max(1),
        )),
        ("GET", ["users", "@me"]) if !token_ok(inner, req) => error(401, 0, "401: Unauthorized"),
        ("GET", ["users", "@me"]) => ok(payloads::user(&lock(&inner.world).bot)),
        ("GET", ["users", user]) => {
            let world = lock(&inner.world);
            id(user)
                .and_then(|u| world.user(u))
                .map_or_else(unknown_user, |u| ok(payloads::user(u)))
        }
        ("POST", ["users", "@me", "channels"]) => create_dm(inner, &body),
        ("GET", ["oauth2", "applications", "@me"]) => {
            ok(payloads::current_application(&lock(&inner.world)))
        }
        (_, ["applications", _, "commands", rest @ ..]) => {
            commands(inner, method, None, rest, &body)
        }
        (_, ["applications", _, "guilds", guild, "commands", rest @ ..]) => {
            commands(inner, method, id(guild), rest, &body)
        }
        (_, ["channels", channel, rest @ ..]) => match id(channel) {
            Some(channel) => channel_route(inner, method, channel, rest, req),
            None => unknown_channel(),
        },
        ("POST", ["interactions", _, token, "callback"]) => interaction_callback(inner, token, req),
        (_, ["webhooks", _, token, rest @ ..]) => webhook_route(inner, method, token, rest, req),
        ("GET", ["users", "@me", "guilds"]) => {
            let world = lock(&inner.world);
            ok(world
                .guilds()
                .iter()
                .map(|g| json!({"id": g.id.to_string(), "name": g.name, "icon": null, "owner": g.owner_id == world.bot.id, "permissions": g.permissions_of(world.bot.id).to_string(), "features": []}))
                .collect())
        }
        (_, ["guilds", guild, rest @ ..]) => {
            match id(guild).filter(|g| lock(&inner.world).guild(*g).is_some()) {
                Some(guild) => guild_route(inner, method, guild, rest, req),
                None => error(404, 10004, "Unknown Guild"),
            }
        }
        _ => not_found(),
    }
}

// ---- applications ------------------------------------------------------------------------

fn commands(inner: &Inner, method: &str, guild: Option<u64>, rest: &[&str], body: &Value) -> Reply {
    let mut commands = lock(&inner.commands);
    match (method, rest) {
        ("PUT", []) => {
            let sent = body.as_array().cloned().unwrap_or_default();
            let mut world = lock(&inner.world);
            let echoed: Vec<Value> = sent
                .iter()
                .map(|c| {
                    let id = world.next_id();
                    payloads::command(&world, id, guild, c)
                })
                .collect();
            commands.insert(guild, echoed.clone());
            ok(Value::Array(echoed))
        }
        ("GET", []) => ok(Value::Array(
            commands.get(&guild).cloned().unwrap_or_default(),
        )),
        ("POST", []) => {
            let mut world = lock(&inner.world);
            let id = world.next_id();
            let created = payloads::command(&world, id, guild, body);
            let scope = commands.entry(guild).or_default();
            scope.retain(|c| c.get("name") != body.get("name"));
            scope.push(created.clone());
            Reply::Json(StatusCode::CREATED, created)
        }
        ("DELETE", [command]) => {
            let scope = commands.entry(guild).or_default();
            scope.retain(|c| id_of(c) != id(command));
            no_content()
        }
        _ => not_found(),
    }
}

// ---- channels and messages ---------------------------------------------------------------

fn channel_route(
    inner: &Inner,
    method: &str,
    channel: u64,
    rest: &[&str],
    req: &RecordedRequest,
) -> Reply {
    let body = req.body.clone().unwrap_or(Value::Null);
    let mut world = lock(&inner.world);
    if world.channel(channel).is_none() {
        return unknown_channel();
    }
    match (method, rest) {
        ("GET", []) => ok(channel_json(&world, channel)),
        ("PATCH", []) => edit_channel(inner, &mut world, channel, &body),
        ("POST", ["typing"]) => no_content(),
        ("GET", ["messages"]) => list_messages(&world, channel, &parse_query(&req.query)),
        ("POST", ["messages"]) => {
            let message = bot_message(&mut world, channel, &body, &req.files);
            world.store_message(channel, message.clone());
            inner.echo("MESSAGE_CREATE", message.clone());
            ok(message)
        }
        ("GET", ["messages", message]) => id(message)
            .and_then(|m| world.message(channel, m))
            .cloned()
            .map_or_else(unknown_message, ok),
        ("PATCH", ["messages", message]) => {
            let Some(message) = id(message) else {
                return unknown_message();
            };
            edit_bot_message(inner, &mut world, channel, message, &body)
        }
        ("DELETE", ["messages", message]) => {
            let Some(message) = id(message).filter(|m| world.message(channel, *m).is_some()) else {
                return unknown_message();
            };
            if let Some(history) = world.messages.get_mut(&channel) {
                history.retain(|m| id_of(m) != Some(message));
            }
            let guild = world.guild_of(channel);
            inner.echo(
                "MESSAGE_DELETE",
                payloads::message_delete(channel, message, guild),
            );
            no_content()
        }
        ("PUT" | "DELETE", ["messages", message, "reactions", emoji, who]) => {
            let Some(message) = id(message).filter(|m| world.message(channel, *m).is_some()) else {
                return unknown_message();
            };
            let emoji = percent_encoding::percent_decode_str(emoji)
                .decode_utf8_lossy()
                .into_owned();
            let emoji_json = match emoji.split_once(':') {
                Some((name, custom)) => {
                    // The bot may use the custom emojis of every server it is in.
                    let known = |c: &u64| {
                        world
                            .guilds()
                            .iter()
                            .any(|g| g.emojis.iter().any(|e| e.id == *c))
                    };
                    match id(custom).filter(known) {
                        Some(custom) => json!({"id": custom.to_string(), "name": name}),
                        None => return error(400, 10014, "Unknown Emoji"),
                    }
                }
                None => json!({"id": null, "name": emoji}),
            };
            if *who == "@me" {
                let add = method == "PUT";
                let _ = edit_stored(&mut world, channel, message, |m| {
                    with_reaction(m, &emoji_json, add)
                });
            }
            no_content()
        }
        ("POST", ["threads"]) => create_thread(inner, &mut world, channel, None, &body),
        ("POST", ["messages", message, "threads"]) => {
            let Some(message) = id(message).filter(|m| world.message(channel, *m).is_some()) else {
                return unknown_message();
            };
            create_thread(inner, &mut world, channel, Some(message), &body)
        }
        ("PUT" | "DELETE", ["thread-members", user]) => {
            let Some(user) = id(user) else {
                return unknown_user();
            };
            let Some(thread) = world.channel_mut(channel).and_then(|c| c.thread.as_mut()) else {
                return error(400, 50024, "Cannot execute action on this channel type");
            };
            if method == "PUT" {
                thread.members.insert(user);
            } else {
                thread.members.remove(&user);
            }
            no_content()
        }
        ("GET", ["thread-members"]) => {
            let members = world.channel(channel).and_then(|c| c.thread.as_ref()).map(|t| {
                t.members
                    .iter()
                    .map(|u| json!({"id": channel.to_string(), "user_id": u.to_string(), "join_timestamp": payloads::now(), "flags": 0}))
                    .collect::<Vec<_>>()
            });
            ok(json!(members.unwrap_or_default()))
        }
        _ => not_found(),
    }
}

fn channel_json(world: &World, channel: u64) -> Value {
    world
        .channel(channel)
        .map_or(Value::Null, |c| payloads::channel(world, c))
}

fn edit_channel(inner: &Inner, world: &mut World, channel: u64, body: &Value) -> Reply {
    let Some(c) = world.channel_mut(channel) else {
        return unknown_channel();
    };
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        c.name = name.to_owned();
    }
    if let Some(topic) = body.get("topic") {
        c.topic = topic.as_str().map(str::to_owned);
    }
    if let Some(t) = c.thread.as_mut() {
        let flag = |key: &str| body.get(key).and_then(Value::as_bool);
        t.archived = flag("archived").unwrap_or(t.archived);
        t.locked = flag("locked").unwrap_or(t.locked);
        t.invitable = flag("invitable").unwrap_or(t.invitable);
        if let Some(d) = body.get("auto_archive_duration").and_then(Value::as_u64) {
            t.auto_archive_duration = u32::try_from(d).unwrap_or(t.auto_archive_duration);
        }
    }
    let is_thread = c.is_thread();
    let json = channel_json(world, channel);
    inner.echo(
        if is_thread {
            "THREAD_UPDATE"
        } else {
            "CHANNEL_UPDATE"
        },
        json.clone(),
    );
    ok(json)
}

fn create_thread(
    inner: &Inner,
    world: &mut World,
    parent: u64,
    starter: Option<u64>,
    body: &Value,
) -> Reply {
    let id = starter.unwrap_or_else(|| world.next_id());
    let kind = match starter {
        // Threads started from a message are public and take the message's id, as on Discord.
        Some(_) => channel_kind::PUBLIC_THREAD,
        None => body
            .get("type")
            .and_then(Value::as_u64)
            .map_or(channel_kind::PRIVATE_THREAD, |k| k as u8),
    };
    let bot = world.bot.id;
    let mut thread = Channel::text(
        id,
        body.get("name").and_then(Value::as_str).unwrap_or("thread"),
    );
    thread.kind = kind;
    thread.parent_id = Some(parent);
    thread.guild_id = world.guild_of(parent);
    thread.thread = Some(ThreadState {
        owner_id: bot,
        archived: false,
        locked: false,
        invitable: body
            .get("invitable")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        auto_archive_duration: body
            .get("auto_archive_duration")
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(1440),
        created_at: Utc::now(),
        members: [bot].into(),
    });
    world.channels.push(thread.clone());
    inner.echo("THREAD_CREATE", payloads::thread_create(world, &thread));
    Reply::Json(StatusCode::CREATED, payloads::channel(world, &thread))
}

/// GET messages: newest first like Discord; `before`/`after`/`around` by id, `limit` 1..=100
/// (default 50).
fn list_messages(world: &World, channel: u64, query: &BTreeMap<String, String>) -> Reply {
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let param = |k: &str| query.get(k).and_then(|v| v.parse::<u64>().ok());
    let history = world.messages_in(channel);
    let oldest_first: Vec<&Value> = if let Some(before) = param("before") {
        let older: Vec<&Value> = history
            .iter()
            .filter(|m| id_of(m).is_some_and(|i| i < before))
            .collect();
        older[older.len().saturating_sub(limit)..].to_vec()
    } else if let Some(after) = param("after") {
        history
            .iter()
            .filter(|m| id_of(m).is_some_and(|i| i > after))
            .take(limit)
            .collect()
    } else if let Some(around) = param("around") {
        let pos = history
            .iter()
            .position(|m| id_of(m).is_some_and(|i| i >= around))
            .unwrap_or(history.len());
        let start = pos.saturating_sub(limit / 2);
        history.iter().skip(start).take(limit).collect()
    } else {
        history[history.len().saturating_sub(limit)..]
            .iter()
            .collect()
    };
    ok(Value::Array(
        oldest_first.into_iter().rev().cloned().collect(),
    ))
}

/// A message the bot sends (channel message, interaction response or followup): author is
/// the bot, mentions honour `allowed_mentions`, replies resolve `message_reference`.
fn bot_message(
    world: &mut World,
    channel: u64,
    body: &Value,
    files: &[(String, Vec<u8>)],
) -> Value {
    let id = world.next_id();
    let bot = world.bot.id;
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut m = payloads::message(world, id, channel, bot, content);
    let referenced = body
        .get("message_reference")
        .and_then(|r| r.get("message_id"))
        .and_then(snowflake)
        .and_then(|r| find_message(world, r));
    if let Some(referenced) = &referenced {
        m = payloads::into_reply(m, referenced);
    }
    apply_allowed_mentions(
        world,
        &mut m,
        content,
        body.get("allowed_mentions"),
        referenced.as_ref(),
    );
    for key in ["embeds", "components"] {
        if let Some(v) = body.get(key).filter(|v| v.is_array()) {
            m[key] = v.clone();
        }
    }
    if let Some(tts) = body.get("tts").and_then(Value::as_bool) {
        m["tts"] = json!(tts);
    }
    if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
        m["flags"] = json!(flags);
    }
    if let Some(poll) = body.get("poll").filter(|p| p.is_object()) {
        m["poll"] = poll_response(poll);
    }
    if !files.is_empty() {
        let attachments: Vec<Value> = files
            .iter()
            .map(|(name, bytes)| payloads::attachment(world.next_id(), name, bytes.len(), None))
            .collect();
        m["attachments"] = Value::Array(attachments);
    }
    m
}

fn apply_allowed_mentions(
    world: &World,
    m: &mut Value,
    content: &str,
    allowed: Option<&Value>,
    replied: Option<&Value>,
) {
    let parsed = payloads::parse_mentions(content);
    let list = |key: &str| -> Vec<u64> {
        allowed
            .and_then(|a| a.get(key))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(snowflake).collect())
            .unwrap_or_default()
    };
    let parses = |kind: &str| {
        allowed.is_none_or(|a| {
            a.get("parse")
                .and_then(Value::as_array)
                .is_some_and(|p| p.iter().any(|k| k == kind))
        })
    };
    let (allowed_users, allowed_roles) = (list("users"), list("roles"));
    let mut users: Vec<u64> = parsed
        .users
        .into_iter()
        .filter(|u| parses("users") || allowed_users.contains(u))
        .collect();
    let replied_user = allowed.is_none_or(|a| {
        a.get("replied_user")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    });
    if let Some(author) = replied.and_then(|r| r.get("author")).and_then(id_of)
        && replied_user
        && !users.contains(&author)
    {
        users.push(author);
    }
    let roles: Vec<u64> = parsed
        .roles
        .into_iter()
        .filter(|r| parses("roles") || allowed_roles.contains(r))
        .collect();
    m["mentions"] = users
        .iter()
        .map(|u| {
            world
                .user(*u)
                .map_or_else(|| payloads::unknown_user(*u), payloads::user)
        })
        .collect();
    m["mention_roles"] = roles.iter().map(u64::to_string).collect();
    m["mention_everyone"] = json!(parsed.everyone && parses("everyone"));
}

/// Turns a poll *request* into the poll object Discord returns.
fn poll_response(sent: &Value) -> Value {
    let answers: Vec<Value> = sent
        .get("answers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, answer)| json!({"answer_id": i + 1, "poll_media": answer.get("poll_media").cloned().unwrap_or(json!({}))}))
                .collect()
        })
        .unwrap_or_default();
    let hours = sent.get("duration").and_then(Value::as_i64).unwrap_or(24);
    json!({
        "question": sent.get("question").cloned().unwrap_or(json!({"text": ""})),
        "answers": answers,
        "expiry": payloads::timestamp(Utc::now() + chrono::Duration::hours(hours)),
        "allow_multiselect": sent.get("allow_multiselect").and_then(Value::as_bool).unwrap_or(false),
        "layout_type": sent.get("layout_type").and_then(Value::as_u64).unwrap_or(1),
        "results": {"is_finalized": false, "answer_counts": []},
    })
}

fn with_reaction(m: &Value, emoji: &Value, add: bool) -> Value {
    let mut m = m.clone();
    let mut reactions: Vec<Value> = m
        .get("reactions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    reactions.retain(|r| r.get("emoji") != Some(emoji));
    if add {
        reactions.push(json!({
            "count": 1,
            "count_details": {"burst": 0, "normal": 1},
            "me": true,
            "me_burst": false,
            "burst_colors": [],
            "emoji": emoji,
        }));
    }
    m["reactions"] = Value::Array(reactions);
    m
}

fn edit_bot_message(
    inner: &Inner,
    world: &mut World,
    channel: u64,
    message: u64,
    body: &Value,
) -> Reply {
    let bot = world.bot.id;
    let Some(existing) = world.message(channel, message) else {
        return unknown_message();
    };
    if existing.get("author").and_then(id_of) != Some(bot) {
        return error(403, 50005, "Cannot edit a message authored by another user");
    }
    let snapshot = world.clone();
    let updated = edit_stored(world, channel, message, |m| apply_edit(&snapshot, m, body));
    match updated {
        Some(m) => {
            inner.echo("MESSAGE_UPDATE", m.clone());
            ok(m)
        }
        None => unknown_message(),
    }
}

/// Applies a PATCH body (content, embeds, components, flags, allowed_mentions) to a message.
fn apply_edit(world: &World, m: &Value, body: &Value) -> Value {
    let mut m = m.clone();
    if let Some(content) = body.get("content").and_then(Value::as_str) {
        m["content"] = json!(content);
        apply_allowed_mentions(world, &mut m, content, body.get("allowed_mentions"), None);
    }
    for key in ["embeds", "components"] {
        if let Some(v) = body.get(key).filter(|v| v.is_array()) {
            m[key] = v.clone();
        }
    }
    if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
        m["flags"] = json!(flags);
    }
    m["edited_timestamp"] = json!(payloads::now());
    m
}

/// Replaces a stored message by `f(old)`; returns the new message.
pub(crate) fn edit_stored(
    world: &mut World,
    channel: u64,
    message: u64,
    f: impl FnOnce(&Value) -> Value,
) -> Option<Value> {
    let history = world.messages.get_mut(&channel)?;
    let at = crate::world::position_of(history, message)?;
    let slot = &mut history[at];
    *slot = f(slot);
    Some(slot.clone())
}

/// Finds a message in any channel's history.
pub(crate) fn find_message(world: &World, message: u64) -> Option<Value> {
    world.find_message(message).cloned()
}

/// The DM channel with `user`, created on first use.
pub(crate) fn open_dm(world: &mut World, user: u64) -> u64 {
    if let Some(c) = world.dm_channel_with(user) {
        return c.id;
    }
    let id = world.next_id();
    let mut dm = Channel::text(id, "");
    dm.kind = channel_kind::DM;
    dm.recipient = Some(user);
    world.channels.push(dm);
    id
}

fn create_dm(inner: &Inner, body: &Value) -> Reply {
    let Some(user) = body.get("recipient_id").and_then(snowflake) else {
        return error(400, 50035, "Invalid Form Body");
    };
    let mut world = lock(&inner.world);
    if world.user(user).is_none() {
        return unknown_user();
    }
    let channel = open_dm(&mut world, user);
    ok(channel_json(&world, channel))
}

// ---- interactions and webhooks -----------------------------------------------------------

fn interaction_callback(inner: &Inner, token: &str, req: &RecordedRequest) -> Reply {
    let body = req.body.clone().unwrap_or(Value::Null);
    let mut interactions = lock(&inner.interactions);
    // Tokens the fake did not mint (a test dispatched its own payload) are accepted.
    let state = interactions.entry(token.to_owned()).or_default();
    if state.acknowledged {
        return error(400, 40060, "Interaction has already been acknowledged.");
    }
    state.acknowledged = true;
    if body.get("type").and_then(Value::as_u64) == Some(4) {
        let data = body.get("data").cloned().unwrap_or(json!({}));
        let mut world = lock(&inner.world);
        let message = bot_message(&mut world, state.channel_id, &data, &req.files);
        store_unless_ephemeral(inner, &mut world, state.channel_id, &message);
        state.original = Some(message);
    }
    no_content()
}

/// Interaction responses and followups are channel messages too (history and a
/// MESSAGE_CREATE echo), except ephemeral ones, which only the invoker sees.
fn store_unless_ephemeral(inner: &Inner, world: &mut World, channel: u64, message: &Value) {
    let ephemeral = message.get("flags").and_then(Value::as_u64).unwrap_or(0) & EPHEMERAL != 0;
    if !ephemeral && world.channel(channel).is_some() {
        world.store_message(channel, message.clone());
        inner.echo("MESSAGE_CREATE", message.clone());
    }
}

fn webhook_route(
    inner: &Inner,
    method: &str,
    token: &str,
    rest: &[&str],
    req: &RecordedRequest,
) -> Reply {
    let body = req.body.clone().unwrap_or(Value::Null);
    let mut interactions = lock(&inner.interactions);
    let state = interactions
        .entry(token.to_owned())
        .or_insert_with(|| InteractionState {
            acknowledged: true,
            ..InteractionState::default()
        });
    if !state.acknowledged {
        // Discord only accepts followups and edits after the initial response.
        return error(404, 10015, "Unknown Webhook");
    }
    let channel = state.channel_id;
    let mut world = lock(&inner.world);
    match (method, rest) {
        ("POST", []) => {
            let mut message = bot_message(&mut world, channel, &body, &req.files);
            message["webhook_id"] = json!(world.application_id.to_string());
            message["application_id"] = json!(world.application_id.to_string());
            store_unless_ephemeral(inner, &mut world, channel, &message);
            ok(message)
        }
        ("GET", ["messages", "@original"]) => {
            state.original.clone().map_or_else(unknown_message, ok)
        }
        ("PATCH", ["messages", "@original"]) => {
            let message = match state.original.clone() {
                Some(original) => apply_edit(&world, &original, &body),
                None => {
                    // The first edit after a deferral creates the visible response.
                    let message = bot_message(&mut world, channel, &body, &req.files);
                    store_unless_ephemeral(inner, &mut world, channel, &message);
                    message
                }
            };
            if let Some(m) = id_of(&message) {
                let _ = edit_stored(&mut world, channel, m, |_| message.clone());
            }
            state.original = Some(message.clone());
            ok(message)
        }
        ("DELETE", ["messages", "@original"]) => {
            let Some(original) = state.original.take() else {
                return unknown_message();
            };
            if let (Some(history), Some(m)) = (world.messages.get_mut(&channel), id_of(&original)) {
                history.retain(|x| id_of(x) != Some(m));
            }
            no_content()
        }
        ("GET", ["messages", message]) => id(message)
            .and_then(|m| find_message(&world, m))
            .map_or_else(unknown_message, ok),
        ("PATCH", ["messages", message]) => {
            let Some(m) = id(message).and_then(|m| find_message(&world, m)) else {
                return unknown_message();
            };
            let updated = apply_edit(&world, &m, &body);
            let msg_channel = m.get("channel_id").and_then(snowflake).unwrap_or(channel);
            let _ = edit_stored(&mut world, msg_channel, id_of(&m).unwrap_or(0), |_| {
                updated.clone()
            });
            ok(updated)
        }
        ("DELETE", ["messages", message]) => {
            let Some(m) = id(message) else {
                return unknown_message();
            };
            for history in world.messages.values_mut() {
                history.retain(|x| id_of(x) != Some(m));
            }
            no_content()
        }
        _ => not_found(),
    }
}

// ---- guild -------------------------------------------------------------------------------

/// Routes under `/guilds/{guild}`, for whichever server `guild` is (the caller checked it
/// exists). A user who is not a member of *this* server gets 10007 Unknown Member.
fn guild_route(
    inner: &Inner,
    method: &str,
    guild: u64,
    rest: &[&str],
    req: &RecordedRequest,
) -> Reply {
    let body = req.body.clone().unwrap_or(Value::Null);
    let mut world = lock(&inner.world);
    let Some(g) = world.guild(guild) else {
        return error(404, 10004, "Unknown Guild");
    };
    match (method, rest) {
        ("GET", []) => ok(payloads::guild_in(&world, guild)),
        ("GET", ["channels"]) => ok(world
            .channels_of(guild)
            .filter(|c| !c.is_thread())
            .map(|c| payloads::channel(&world, c))
            .collect()),
        ("GET", ["threads", "active"]) => {
            let threads: Vec<Value> = world
                .channels_of(guild)
                .filter(|c| c.thread.as_ref().is_some_and(|t| !t.archived))
                .map(|c| payloads::channel(&world, c))
                .collect();
            ok(json!({"threads": threads, "members": []}))
        }
        ("GET", ["roles"]) => ok(g.roles.iter().map(payloads::role).collect()),
        ("GET", ["emojis"]) => ok(g.emojis.iter().map(payloads::emoji).collect()),
        ("GET", ["emojis", emoji]) => id(emoji)
            .and_then(|e| g.emojis.iter().find(|x| x.id == e))
            .map_or_else(
                || error(404, 10014, "Unknown Emoji"),
                |e| ok(payloads::emoji(e)),
            ),
        ("GET", ["members"]) => {
            let query = parse_query(&req.query);
            let limit = query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(1usize)
                .clamp(1, 1000);
            let after = query
                .get("after")
                .and_then(|a| a.parse::<u64>().ok())
                .unwrap_or(0);
            let mut members: Vec<&world::Member> =
                g.members.iter().filter(|m| m.user.id > after).collect();
            members.sort_by_key(|m| m.user.id);
            ok(members
                .into_iter()
                .take(limit)
                .map(|m| payloads::member(m, None))
                .collect())
        }
        ("GET", ["members", "search"]) => {
            let query = parse_query(&req.query);
            let needle = query
                .get("query")
                .cloned()
                .unwrap_or_default()
                .to_lowercase();
            let found: Vec<Value> = g
                .members
                .iter()
                .filter(|m| {
                    m.user.name.to_lowercase().starts_with(&needle)
                        || m.nick
                            .as_deref()
                            .is_some_and(|n| n.to_lowercase().starts_with(&needle))
                })
                .map(|m| payloads::member(m, None))
                .collect();
            ok(Value::Array(found))
        }
        ("GET", ["members", user]) => id(user)
            .and_then(|u| g.member(u))
            .map_or_else(unknown_member, |m| ok(payloads::member(m, None))),
        ("PATCH", ["members", user]) => {
            let Some(user) = id(user) else {
                return unknown_member();
            };
            let Some(member) = world.member_in_mut(guild, user) else {
                return unknown_member();
            };
            if let Some(until) = body.get("communication_disabled_until") {
                member.communication_disabled_until = until.as_str().map(str::to_owned);
            }
            if let Some(nick) = body.get("nick") {
                member.nick = nick.as_str().map(str::to_owned);
            }
            if let Some(roles) = body.get("roles").and_then(Value::as_array) {
                member.roles = roles.iter().filter_map(snowflake).collect();
            }
            let member = member.clone();
            inner.echo(
                "GUILD_MEMBER_UPDATE",
                payloads::guild_member_update_in(guild, &member),
            );
            ok(payloads::member(&member, None))
        }
        ("PUT" | "DELETE", ["members", user, "roles", role]) => {
            let (Some(user), Some(role)) = (id(user), id(role)) else {
                return unknown_member();
            };
            if g.role(role).is_none() {
                return error(404, 10011, "Unknown Role");
            }
            let Some(member) = world.member_in_mut(guild, user) else {
                return unknown_member();
            };
            member.roles.retain(|r| *r != role);
            if method == "PUT" {
                member.roles.push(role);
            }
            let member = member.clone();
            inner.echo(
                "GUILD_MEMBER_UPDATE",
                payloads::guild_member_update_in(guild, &member),
            );
            no_content()
        }
        ("DELETE", ["members", user]) => {
            let Some(member) = id(user).and_then(|u| world.remove_member_in(guild, u)) else {
                return unknown_member();
            };
            inner.echo(
                "GUILD_MEMBER_REMOVE",
                payloads::guild_member_remove_in(guild, &member.user),
            );
            no_content()
        }
        ("GET", ["bans"]) => ok(g.bans.values().map(payloads::ban).collect()),
        ("GET", ["bans", user]) => id(user).and_then(|u| g.bans.get(&u)).map_or_else(
            || error(404, 10026, "Unknown Ban"),
            |b| ok(payloads::ban(b)),
        ),
        ("PUT", ["bans", user]) => {
            // Discord bans any user by id, member of this server or not.
            let Some(user) = id(user).and_then(|u| world.user(u).cloned()) else {
                return unknown_user();
            };
            let reason = req.audit_reason().map(str::to_owned).or_else(|| {
                body.get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            if let Some(member) = world.remove_member_in(guild, user.id) {
                inner.echo(
                    "GUILD_MEMBER_REMOVE",
                    payloads::guild_member_remove_in(guild, &member.user),
                );
            }
            inner.echo("GUILD_BAN_ADD", payloads::guild_ban_in(guild, &user));
            if let Some(g) = world.guild_mut(guild) {
                g.bans.insert(user.id, Ban { user, reason });
            }
            no_content()
        }
        ("DELETE", ["bans", user]) => {
            let removed = id(user)
                .zip(world.guild_mut(guild))
                .and_then(|(u, g)| g.bans.remove(&u));
            match removed {
                Some(ban) => {
                    inner.echo("GUILD_BAN_REMOVE", payloads::guild_ban_in(guild, &ban.user));
                    no_content()
                }
                None => error(404, 10026, "Unknown Ban"),
            }
        }
        _ => not_found(),
    }
}
