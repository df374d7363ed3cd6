//! personabot: an AI persona bot for Discord.
//!
//! # Layout
//! - `domain`: pure rules (ids, relationship math, triggers, memory merge, splitting,
//!   emotes, token budget, rolls); no I/O, time and randomness are parameters.
//! - `prompts`: every prompt the bot sends, as templates rendered by pure functions.
//! - `store`: SeaORM persistence, one file per table group, returning domain types.
//! - `llm`: the language-model port and its async-openai implementation.
//! - `chat`: the chat-platform port the actors talk to.
//! - `discord`: serenity/poise adapter: client, gateway events, slash commands.
//! - `actors`: the ractor tree (supervisor, store, router, channels, gateway, schedulers).
//! - `reply`, `consolidation`, `daily`, `proactive`, `moderation`: the steps the actors run
//!   (one reply, one nightly consolidation, the day's mood and status, one proactive tick,
//!   lifting due temporary bans), each callable directly with an injected clock.
//! - `admin`: the typed admin requests the StoreActor applies.
//! - `console`: the web console (first-run set-up, dashboard, persona, memories, settings,
//!   activity), an HTTP adapter over the same store requests as the slash commands.
//! - `config`, `telemetry`, `app`: settings, logging and metrics, and assembling the
//!   running bot (`app::launch`: the console first, then the bot once a token is configured).
//! - `ops`: the ops HTTP server (`/metrics`, `/healthz`, `/readyz`).
//! - `shutdown`: Ctrl-C and SIGTERM, caught from before the app starts.
//!
//! ```text
//! RootSupervisor
//! ├── StoreActor ────────────── SeaORM (SQLite | PostgreSQL)
//! ├── ConversationRouter
//! │   └── ConversationActor × channel ── reply step ── LLM, Discord REST
//! ├── StatusActor ───────────── daily mood, status line (presence)
//! ├── MemoryConsolidator ────── cron: consolidation, then StatusActor::NewDay
//! ├── ProactiveScheduler ────── timer: proactive step
//! ├── BanLifter ─────────────── timer: lift due temporary bans
//! └── Gateway (serenity client + poise) ── events ──▶ router / store
//! ```
pub mod actors;
pub mod app;
pub mod config;
pub mod console;
pub mod discord;
pub mod domain;
pub mod llm;
pub mod ops;
pub mod ports;
pub mod prompts;
pub mod shutdown;
pub mod steps;
pub mod store;
pub mod telemetry;
