//! A fake OpenAI-compatible server: chat completions (JSON and SSE streaming), embeddings
//! and the model list, with scripted replies and failures.
//!
//! Tests script *what the model says* with [`Rule`]s (tried in order, optionally consumed)
//! instead of depending on a real model. Embeddings are deterministic bag-of-words vectors,
//! so texts that share words are close and memory-retrieval code can be tested for real.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::record::{Log, WaitError, lock};

/// The default embedding width.
pub const EMBEDDING_DIMS: usize = 256;
const DEFAULT_TEXT: &str = "Hello from the fake model.";
const CREATED: u64 = 1_700_000_000;

/// One request the bot made to the fake OpenAI.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenAiRequest {
    /// e.g. `/v1/chat/completions`.
    pub path: String,
    pub body: Value,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
}

impl OpenAiRequest {
    pub fn is_chat(&self) -> bool {
        self.path.ends_with("/chat/completions")
    }

    pub fn is_embeddings(&self) -> bool {
        self.path.ends_with("/embeddings")
    }

    pub fn is_stream(&self) -> bool {
        self.body
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `(role, content)` of every chat message; array contents have their text parts joined.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        let role = m
                            .get("role")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        (role, content_text(m.get("content")))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Embedding inputs (a string or an array of strings).
    pub fn inputs(&self) -> Vec<String> {
        match self.body.get("input") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// All message contents (or embedding inputs) joined with `\n`.
    pub fn prompt_text(&self) -> String {
        if self.is_embeddings() {
            return self.inputs().join("\n");
        }
        self.messages()
            .into_iter()
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The system (or developer) messages joined with `\n`.
    pub fn system_text(&self) -> String {
        self.messages()
            .into_iter()
            .filter(|(r, _)| r == "system" || r == "developer")
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The user messages joined with `\n`.
    pub fn user_text(&self) -> String {
        self.messages()
            .into_iter()
            .filter(|(r, _)| r == "user")
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The last user message (or the last embedding input). The bot joins its `<notes>`
    /// and the message it answers to the transcript's last member lines (one user turn, as
    /// strict chat templates want): then only the part from the notes on, what this request
    /// answers.
    pub fn last_user_text(&self) -> String {
        if self.is_embeddings() {
            return self.inputs().pop().unwrap_or_default();
        }
        let last = self
            .messages()
            .into_iter()
            .rev()
            .find(|(r, _)| r == "user")
            .map(|(_, c)| c)
            .unwrap_or_default();
        match last.rfind("<notes>\n") {
            Some(at) => last[at..].to_owned(),
            None => last,
        }
    }

    /// Whether the turns have the shape strict chat templates accept: at most one system
    /// turn, first; then user and assistant alternating, from user, ending with user.
    pub fn roles_alternate(&self) -> bool {
        let roles: Vec<String> = self.messages().into_iter().map(|(r, _)| r).collect();
        let dialogue = match roles.first() {
            Some(r) if r == "system" => &roles[1..],
            _ => &roles[..],
        };
        !dialogue.is_empty()
            && dialogue.len() % 2 == 1
            && dialogue
                .iter()
                .enumerate()
                .all(|(i, r)| r == if i % 2 == 0 { "user" } else { "assistant" })
    }

    /// The prompt's size as this fake counts it (a quarter of the characters, plus four
    /// per message): below what the bot's own count says for the same text.
    pub fn prompt_tokens(&self) -> u32 {
        let chars: usize = self.messages().iter().map(|(_, c)| c.chars().count()).sum();
        u32::try_from(chars / 4 + 4 * self.messages().len()).unwrap_or(u32::MAX)
    }

    /// The output cap the request asked for (`max_tokens`, else `max_completion_tokens`).
    pub fn output_cap(&self) -> Option<u64> {
        self.body
            .get("max_tokens")
            .or_else(|| self.body.get("max_completion_tokens"))
            .and_then(Value::as_u64)
    }

    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }
}

fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Which requests a rule applies to.
#[derive(Clone)]
pub enum Matcher {
    /// [`OpenAiRequest::prompt_text`] contains the string.
    PromptContains(String),
    /// [`OpenAiRequest::last_user_text`] contains the string.
    LastUserContains(String),
    Any,
    Fn(Arc<dyn Fn(&OpenAiRequest) -> bool + Send + Sync>),
}

impl Matcher {
    fn matches(&self, req: &OpenAiRequest) -> bool {
        match self {
            Matcher::PromptContains(s) => req.prompt_text().contains(s.as_str()),
            Matcher::LastUserContains(s) => req.last_user_text().contains(s.as_str()),
            Matcher::Any => true,
            Matcher::Fn(f) => f(req),
        }
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::PromptContains(s) => write!(f, "PromptContains({s:?})"),
            Matcher::LastUserContains(s) => write!(f, "LastUserContains({s:?})"),
            Matcher::Any => write!(f, "Any"),
            Matcher::Fn(_) => write!(f, "Fn(..)"),
        }
    }
}

/// How the fake answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Assistant text (streamed in chunks of a few words when the request streams).
    Text(String),
    /// Assistant content = this value serialized (for JSON-mode prompts).
    Json(Value),
    /// An OpenAI error body `{"error":{message,type,param,code}}` with this status.
    Status(u16, String),
    /// 429 with `Retry-After`. async-openai 0.43 retries 429/5xx 3 times: script at least 4
    /// to make a call fail.
    RateLimited { retry_after_secs: u64 },
    /// Waits, then answers with the inner reply.
    Delayed(Duration, Box<Reply>),
    /// Never answers: for client timeouts.
    Hang,
    /// 200 with invalid JSON (or an invalid SSE chunk when streaming).
    Malformed,
    /// Parrots the request's *user* turns (joined with `\n`): what a model jailbroken into
    /// "repeat the conversation" says. Anything only in system turns must not show up.
    EchoUser,
    /// Recites the request's system turns: a model that leaks its instructions.
    EchoSystem,
    /// Decided per request by a function (the sandbox's stand-in model).
    With(Responder),
}

/// A function choosing the reply to one request (see [`Reply::with`]).
#[derive(Clone)]
pub struct Responder(pub Arc<dyn Fn(&OpenAiRequest) -> Reply + Send + Sync>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder(..)")
    }
}

impl PartialEq for Responder {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Reply {
    pub fn text(s: impl Into<String>) -> Self {
        Reply::Text(s.into())
    }

    pub fn json(v: Value) -> Self {
        Reply::Json(v)
    }

    pub fn status(code: u16, message: impl Into<String>) -> Self {
        Reply::Status(code, message.into())
    }

    /// A reply computed from each request.
    pub fn with(f: impl Fn(&OpenAiRequest) -> Reply + Send + Sync + 'static) -> Self {
        Reply::With(Responder(Arc::new(f)))
    }

    pub fn delayed(by: Duration, reply: Reply) -> Self {
        Reply::Delayed(by, Box::new(reply))
    }

    /// Text and JSON describe chat content; they do not apply to embeddings.
    fn is_content(&self) -> bool {
        match self {
            Reply::Text(_) | Reply::Json(_) | Reply::EchoUser | Reply::EchoSystem => true,
            Reply::With(_) => true,
            Reply::Delayed(_, inner) => inner.is_content(),
            _ => false,
        }
    }
}

/// A scripted answer: `Rule::when_prompt_contains("weather").reply(Reply::text("Sunny")).times(1)`.
///
/// Rules are tried in the order they were scripted; the first match answers. A rule with
/// `times(n)` is used up after `n` answers. Text/JSON rules only answer chat requests;
/// status, rate-limit, delay, hang and malformed rules answer embeddings too.
#[derive(Clone, Debug)]
pub struct Rule {
    matcher: Matcher,
    reply: Reply,
    times: Option<usize>,
}

impl Rule {
    pub fn new(matcher: Matcher, reply: Reply) -> Self {
        Self {
            matcher,
            reply,
            times: None,
        }
    }

    pub fn when_prompt_contains(s: impl Into<String>) -> Self {
        Self::new(Matcher::PromptContains(s.into()), Reply::text(DEFAULT_TEXT))
    }

    pub fn when_last_user_contains(s: impl Into<String>) -> Self {
        Self::new(
            Matcher::LastUserContains(s.into()),
            Reply::text(DEFAULT_TEXT),
        )
    }

    pub fn any() -> Self {
        Self::new(Matcher::Any, Reply::text(DEFAULT_TEXT))
    }

    pub fn when(f: impl Fn(&OpenAiRequest) -> bool + Send + Sync + 'static) -> Self {
        Self::new(Matcher::Fn(Arc::new(f)), Reply::text(DEFAULT_TEXT))
    }

    pub fn reply(mut self, reply: Reply) -> Self {
        self.reply = reply;
        self
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }
}

/// How the fake behaves as a server, whatever it is scripted to answer: what real servers
/// refuse or leave out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerTraits {
    /// Gemma's and Mistral's templates under vLLM: a chat request whose turns do not
    /// alternate ([`OpenAiRequest::roles_alternate`]) gets 400 "Conversation roles must
    /// alternate user/assistant/user/assistant/...".
    pub strict_template: bool,
    /// vLLM's window: listed as `max_model_len` (owned by `vllm`) and a prompt plus its
    /// output cap over it gets vLLM's 400 "This model's maximum context length is …".
    pub context_tokens: Option<u32>,
    /// Usage reported as zeros (servers that do not count).
    pub zero_usage: bool,
    /// llama.cpp's `GET /props` answers with this window and one slot.
    pub llamacpp_ctx: Option<u32>,
}

struct OpenAiInner {
    traits: Mutex<ServerTraits>,
    rules: Mutex<Vec<Rule>>,
    /// While set, every chat and embedding request gets this (rules are not consulted).
    outage: Mutex<Option<Reply>>,
    default: Mutex<Reply>,
    requests: Arc<Log<OpenAiRequest>>,
    addr: std::net::SocketAddr,
}

/// The fake OpenAI server handle. Cheap to clone.
#[derive(Clone)]
pub struct FakeOpenAi {
    inner: Arc<OpenAiInner>,
}

impl FakeOpenAi {
    /// Starts on an ephemeral 127.0.0.1 port.
    ///
    /// # Panics
    /// If 127.0.0.1 cannot be bound.
    pub async fn start() -> FakeOpenAi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake OpenAI");
        let inner = Arc::new(OpenAiInner {
            traits: Mutex::new(ServerTraits::default()),
            rules: Mutex::new(Vec::new()),
            outage: Mutex::new(None),
            default: Mutex::new(Reply::text(DEFAULT_TEXT)),
            requests: Log::new(),
            addr: listener.local_addr().expect("fake OpenAI addr"),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("fake OpenAI server stopped: {e}");
            }
        });
        FakeOpenAi { inner }
    }

    /// `http://127.0.0.1:PORT/v1`: async-openai's `api_base`.
    /// Makes the fake behave like a stricter or poorer server from now on.
    pub fn set_traits(&self, traits: ServerTraits) {
        *lock(&self.inner.traits) = traits;
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.inner.addr)
    }

    pub fn script(&self, rule: Rule) {
        lock(&self.inner.rules).push(rule);
    }

    /// Takes the server down: until [`FakeOpenAi::recover`], every chat and embedding
    /// request is answered with `reply` (e.g. `Reply::Hang`, `Reply::status(503, ..)`),
    /// whatever the rules say. Requests are still recorded.
    pub fn go_down(&self, reply: Reply) {
        *lock(&self.inner.outage) = Some(reply);
    }

    /// Ends an outage begun with [`FakeOpenAi::go_down`]; the rules answer again. A request
    /// already hanging keeps hanging (its client gives up on its own).
    pub fn recover(&self) {
        *lock(&self.inner.outage) = None;
    }

    /// The answer when no rule matches (initially the text "Hello from the fake model.").
    pub fn set_default(&self, reply: Reply) {
        *lock(&self.inner.default) = reply;
    }

    pub fn requests(&self) -> Vec<OpenAiRequest> {
        self.inner.requests.snapshot()
    }

    pub fn chat_requests(&self) -> Vec<OpenAiRequest> {
        self.requests()
            .into_iter()
            .filter(OpenAiRequest::is_chat)
            .collect()
    }

    pub fn embedding_requests(&self) -> Vec<OpenAiRequest> {
        self.requests()
            .into_iter()
            .filter(OpenAiRequest::is_embeddings)
            .collect()
    }

    /// Waits for a request matching `pred`, including ones already recorded.
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&OpenAiRequest) -> bool,
        timeout: Duration,
    ) -> Result<OpenAiRequest, WaitError> {
        self.inner
            .requests
            .wait_for("a matching OpenAI request", pred, timeout, |r| {
                format!("{} {}", r.path, r.last_user_text())
            })
            .await
    }
}

impl OpenAiInner {
    /// The reply for a request: first matching rule (consuming one use), else the default.
    fn pick(&self, req: &OpenAiRequest) -> Reply {
        if let Some(outage) = lock(&self.outage).clone() {
            return outage;
        }
        let mut rules = lock(&self.rules);
        let usable = |r: &Rule| {
            r.times != Some(0) && (req.is_chat() || !r.reply.is_content()) && r.matcher.matches(req)
        };
        if let Some(idx) = rules.iter().position(usable) {
            let rule = &mut rules[idx];
            let reply = rule.reply.clone();
            if let Some(n) = rule.times.as_mut() {
                *n -= 1;
                if *n == 0 {
                    rules.remove(idx);
                }
            }
            return reply;
        }
        drop(rules);
        let default = lock(&self.default).clone();
        if req.is_chat() || !default.is_content() {
            default
        } else {
            Reply::text(DEFAULT_TEXT)
        }
    }
}

async fn handle(State(inner): State<Arc<OpenAiInner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let request = OpenAiRequest {
        path: parts.uri.path().to_owned(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    inner.requests.push(request.clone());
    let path = request.path.trim_end_matches('/');
    let traits = lock(&inner.traits).clone();
    match (parts.method.as_str(), path) {
        ("GET", "/v1/models") => json_response(StatusCode::OK, models(&traits)),
        ("GET", "/props") if traits.llamacpp_ctx.is_some() => json_response(
            StatusCode::OK,
            json!({"default_generation_settings": {"n_ctx": traits.llamacpp_ctx}, "total_slots": 1}),
        ),
        ("POST", "/v1/chat/completions")
            if traits.strict_template && !request.roles_alternate() =>
        {
            openai_error(
                400,
                "Conversation roles must alternate user/assistant/user/assistant/...",
            )
        }
        ("POST", "/v1/chat/completions")
            if traits.context_tokens.is_some_and(|window| {
                request
                    .prompt_tokens()
                    .saturating_add(request.output_cap().unwrap_or(16) as u32)
                    > window
            }) =>
        {
            let window = traits.context_tokens.unwrap_or_default();
            let prompt = request.prompt_tokens();
            let cap = request.output_cap().unwrap_or(16);
            openai_error(
                400,
                &format!(
                    "This model's maximum context length is {window} tokens. However, you requested {} tokens ({prompt} in the messages, {cap} in the completion). Please reduce the length of the messages or completion.",
                    u64::from(prompt) + cap
                ),
            )
        }
        ("POST", "/v1/chat/completions" | "/v1/embeddings") => {
            let reply = inner.pick(&request);
            let mut response = answer(&request, reply).await;
            if traits.zero_usage {
                response = zero_usage(response).await;
            }
            response
        }
        _ => openai_error(
            404,
            &format!("Unknown request URL: {} {}", parts.method, path),
        ),
    }
}

async fn answer(req: &OpenAiRequest, mut reply: Reply) -> Response {
    loop {
        match reply {
            Reply::Delayed(by, inner) => {
                tokio::time::sleep(by).await;
                reply = *inner;
            }
            Reply::Hang => std::future::pending::<()>().await,
            Reply::With(Responder(f)) if !req.is_embeddings() => reply = f(req),
            Reply::With(_) => return embeddings_response(req),
            Reply::Status(code, message) => return openai_error(code, &message),
            Reply::RateLimited { retry_after_secs } => {
                let mut r = openai_error(429, "Rate limit reached for requests");
                if let Ok(v) = retry_after_secs.to_string().parse() {
                    r.headers_mut().insert("retry-after", v);
                }
                return r;
            }
            Reply::Malformed if req.is_stream() => {
                return sse_response(
                    "data: {\"id\": \"broken\", \"choices\": [\n\ndata: [DONE]\n\n".to_owned(),
                );
            }
            Reply::Malformed => {
                return (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    "{\"id\": \"broken\", \"choices\": [",
                )
                    .into_response();
            }
            Reply::Text(_) | Reply::Json(_) | Reply::EchoUser | Reply::EchoSystem
                if req.is_embeddings() =>
            {
                return embeddings_response(req);
            }
            Reply::EchoUser => return chat_response(req, &req.user_text()),
            Reply::EchoSystem => return chat_response(req, &req.system_text()),
            Reply::Text(text) => return chat_response(req, &text),
            Reply::Json(v) => return chat_response(req, &v.to_string()),
        }
    }
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn sse_response(body: String) -> Response {
    (
        StatusCode::OK,
        [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// OpenAI's error body, with the `type` OpenAI uses for the status.
fn openai_error(code: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (kind, err_code) = match code {
        400 => ("invalid_request_error", Value::Null),
        401 => ("invalid_request_error", json!("invalid_api_key")),
        404 => ("invalid_request_error", json!("unknown_url")),
        429 => ("requests", json!("rate_limit_exceeded")),
        _ => ("server_error", Value::Null),
    };
    json_response(
        status,
        json!({"error": {"message": message, "type": kind, "param": null, "code": err_code}}),
    )
}

fn models(traits: &ServerTraits) -> Value {
    let model = |id: &str| match traits.context_tokens {
        Some(window) => {
            json!({"id": id, "object": "model", "created": CREATED, "owned_by": "vllm", "max_model_len": window})
        }
        None => json!({"id": id, "object": "model", "created": CREATED, "owned_by": "fakes"}),
    };
    json!({"object": "list", "data": [model("fake"), model("fake-embed")]})
}

/// The same answer with its usage counted as zeros.
async fn zero_usage(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    if let Some(usage) = value.get_mut("usage") {
        *usage = json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0});
    }
    let mut parts = parts;
    parts.headers.remove("content-length");
    Response::from_parts(parts, axum::body::Body::from(value.to_string()))
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count().max(1)
}

fn chat_response(req: &OpenAiRequest, content: &str) -> Response {
    let model = req.model().unwrap_or("fake").to_owned();
    let id = format!("chatcmpl-fake-{:x}", fnv1a(req.prompt_text().as_bytes()));
    let prompt_tokens = word_count(&req.prompt_text());
    let completion_tokens = word_count(content);
    if !req.is_stream() {
        return json_response(
            StatusCode::OK,
            json!({
                "id": id,
                "object": "chat.completion",
                "created": CREATED,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": null},
                    "logprobs": null,
                    "finish_reason": "stop",
                }],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
            }),
        );
    }
    let chunk = |delta: Value, finish: Value| {
        let c = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        format!("data: {c}\n\n")
    };
    let mut body = String::new();
    for (i, piece) in split_keeping_spaces(content, 3).iter().enumerate() {
        let delta = if i == 0 {
            json!({"role": "assistant", "content": piece})
        } else {
            json!({"content": piece})
        };
        body.push_str(&chunk(delta, Value::Null));
    }
    body.push_str(&chunk(json!({}), json!("stop")));
    body.push_str("data: [DONE]\n\n");
    sse_response(body)
}

/// Splits text into pieces of `words` words, keeping whitespace so the pieces concatenate
/// back to the original.
fn split_keeping_spaces(text: &str, words: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    for (i, ch) in text.char_indices() {
        current.push(ch);
        let next_is_word_start =
            !ch.is_whitespace() || text[i + ch.len_utf8()..].starts_with(char::is_whitespace);
        if ch.is_whitespace() && !next_is_word_start {
            count += 1;
            if count == words {
                pieces.push(std::mem::take(&mut current));
                count = 0;
            }
        }
    }
    if !current.is_empty() || pieces.is_empty() {
        pieces.push(current);
    }
    pieces
}

fn embeddings_response(req: &OpenAiRequest) -> Response {
    let dims = req
        .body
        .get("dimensions")
        .and_then(Value::as_u64)
        .and_then(|d| usize::try_from(d).ok())
        .filter(|d| *d > 0)
        .unwrap_or(EMBEDDING_DIMS);
    let inputs = req.inputs();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": embed(text, dims)}))
        .collect();
    let tokens: usize = inputs.iter().map(|t| word_count(t)).sum();
    json_response(
        StatusCode::OK,
        json!({
            "object": "list",
            "model": req.model().unwrap_or("fake-embed"),
            "data": data,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }),
    )
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "are", "was", "were", "you", "your", "this", "that", "with", "have",
    "has", "had", "but", "not", "they", "them", "his", "her", "she", "him", "its", "our", "from",
    "what", "who", "how", "why", "when", "all", "any", "can", "did", "does", "just", "will",
    "would", "about", "there", "their", "been", "into", "than", "then", "also", "very", "some",
];

/// The words an embedding is built from: lower-case, alphanumeric runs of 3+ characters,
/// stopwords dropped, crude stemming (`-ing`, `-ed`, `-s`).
pub fn embedding_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(w))
        .map(stem)
        .collect();
    words.sort();
    words.dedup();
    words
}

fn stem(word: &str) -> String {
    let n = word.len();
    if n > 5 && word.ends_with("ing") {
        word[..n - 3].to_owned()
    } else if n > 4 && word.ends_with("ed") {
        word[..n - 2].to_owned()
    } else if n > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..n - 1].to_owned()
    } else {
        word.to_owned()
    }
}

/// A deterministic unit vector: each distinct word hashed (FNV-1a) to a dimension with a
/// hashed sign. Identical word sets give cosine 1.0; disjoint sets are near 0. Text with no
/// usable words maps to a fixed unit vector, never to zeros (which would make cosine NaN).
pub fn embed(text: &str, dims: usize) -> Vec<f32> {
    let dims = dims.max(1);
    let mut v = vec![0f32; dims];
    for word in embedding_words(text) {
        let h = fnv1a(word.as_bytes());
        let idx = usize::try_from(h % dims as u64).unwrap_or(0);
        v[idx] += if (h >> 63) == 0 { 1.0 } else { -1.0 };
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        v[dims - 1] = 1.0;
        return v;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Cosine similarity, for tests.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_pieces_concatenate_back() {
        let text = "one two  three four five six seven";
        let pieces = split_keeping_spaces(text, 3);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.len() >= 2);
        assert_eq!(split_keeping_spaces("", 3), vec![String::new()]);
    }

    #[test]
    fn embeddings_are_deterministic_and_similar_for_shared_words() {
        let a = embed("Alice loves hiking in the mountains", 256);
        let b = embed("alice loved hiking mountains!", 256);
        let c = embed("Quarterly tax invoices are overdue", 256);
        assert_eq!(a, embed("Alice loves hiking in the mountains", 256));
        assert!(cosine(&a, &b) > 0.5, "{}", cosine(&a, &b));
        assert!(cosine(&a, &c).abs() < 0.2, "{}", cosine(&a, &c));
        assert!((cosine(&embed("cats dogs", 256), &embed("dog cat", 256)) - 1.0).abs() < 1e-6);
        let empty = embed("a an the", 256);
        assert!((cosine(&empty, &empty) - 1.0).abs() < 1e-6);
    }
}
