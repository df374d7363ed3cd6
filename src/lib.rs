//! personabot: an AI persona bot for Discord.
//!
//! # Layout
//! - `domain`: pure rules (ids, relationship math, triggers, memory merge, splitting,
//!   emotes, token budget, rolls); no I/O, time and randomness are parameters.
//! - `prompts`: every prompt the bot sends, as templates rendered by pure functions.
//! - `ports`: what the steps need from outside (store, language model, chat platform,
//!   channels), as traits over domain types; the adapters below implement them.
//! - `steps`: one unit of work each (a reply, the nightly consolidation, the day's mood and
//!   status, a proactive tick, lifting due bans, leases, standby), callable directly with
//!   an injected clock.
//! - `store`: SeaORM persistence, one file per table group, returning domain types.
//! - `llm`: the async-openai adapter of the language-model port: the model server's profile
//!   (probed at start), the live-first call queue, the circuit breaker (which also opens on
//!   refusals only an operator can fix) and call metrics.
//! - `discord`: serenity/poise adapter of the chat-platform port: client, gateway events,
//!   slash commands.
//! - `actors`: the ractor tree (supervisor, store, router, channels, gateway, periodic jobs)
//!   and the typed slots its handles reach their actors through.
//! - `console`: the web console (first-run set-up, dashboard, persona, memories, settings,
//!   activity), an HTTP adapter over the same store requests as the slash commands.
//! - `app`: assembling the running bot: `app::wire` builds every child of the tree and
//!   every step's dependencies in one place; `app::launch` starts the console first, then
//!   the bot once a token is configured.
//! - `config`, `telemetry`: settings; logging, metrics and vitals.
//! - `ops`: the ops HTTP server (`/metrics`, `/healthz`, `/readyz`).
//! - `shutdown`: Ctrl-C and SIGTERM, caught from before the app starts.
//!
//! ```text
//! RootSupervisor (children registered on a Tree, in start order; stopped in reverse)
//! ├── StoreActor ────────────── SeaORM (SQLite | PostgreSQL)
//! ├── ConversationRouter
//! │   └── ConversationActor × channel ── reply step ── LLM, Discord REST
//! ├── PeriodicActor<NewDay> ─── on request: daily mood, status line (presence)
//! ├── PeriodicActor<NightlyConsolidation> ── cron: consolidation, then NewDay
//! ├── PeriodicActor<ProactiveTick> ── timer: proactive step
//! ├── PeriodicActor<BanLifting> ── timer: lift due temporary bans
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
