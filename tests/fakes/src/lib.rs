//! Fake Discord and fake OpenAI servers on 127.0.0.1, for end-to-end tests of the bot.
//!
//! Discord and OpenAI are unreachable from CI (and real accounts make tests flaky and
//! slow), yet the bot's riskiest code is the glue to serenity, poise and async-openai. These
//! fakes speak the real wire protocols, so the *real* clients run against them: serenity via
//! `HttpBuilder::proxy(fake.rest_base()).ratelimiter_disabled(true)` (the gateway URL comes
//! from the fake's `GET /gateway`), async-openai via `api_base = openai.base_url()`. Tests
//! then drive users (`user_says`, `slash_command`) and assert on what the bot did
//! (`wait_for_request`, `world()`), always waiting with deadlines, never sleeping.
//!
//! # Layout
//! - [`world`]: the mutable model of the servers (at least two: users, members, roles,
//!   channels, threads, emojis, bans, timeouts per server), DMs, message history and the
//!   snowflake generator.
//! - [`payloads`]: factories for Discord's JSON shapes, each checked against serenity's own
//!   types in unit tests (serenity silently drops payloads missing a field).
//! - `discord`: [`FakeDiscord`], the handle, and the state the servers share.
//! - `rest`: the REST routes under `/api/v10`, failure injection, rate-limit headers.
//! - `gateway`: the websocket gateway: HELLO, IDENTIFY/READY, heartbeats, RESUME replay.
//! - [`record`]: recorded requests and the wait-with-deadline machinery.
//! - [`openai`]: [`FakeOpenAi`]: chat (JSON and SSE), embeddings, scripted failures.
//!
//! The servers are tasks on the caller's tokio runtime and stop with it.

mod discord;
mod gateway;
pub mod openai;
pub mod payloads;
pub mod record;
mod rest;
pub mod tls;
pub mod world;

pub use discord::{
    DiscordOptions, Failure, FakeDiscord, InteractionHandle, RouteMatcher, shard_of,
};
pub use gateway::REQUIRED_INTENTS;
pub use openai::{FakeOpenAi, Matcher, OpenAiRequest, Reply, Responder, Rule, ServerTraits};
pub use payloads::opt;
pub use record::{RecordedRequest, WaitError};
pub use world::{World, ids};
