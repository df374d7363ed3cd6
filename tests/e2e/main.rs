//! End-to-end tests: the real app (as `main` builds it) with its real serenity, poise and
//! async-openai clients, against the fake Discord and fake OpenAI server on 127.0.0.1, on
//! SQLite and on PostgreSQL. See `tests/README.md` for how to write one.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod budgets;
mod commands;
mod conversation;
mod daily;
mod faults;
mod held_write_lane;
mod hygiene;
mod lifecycle;
mod listening;
mod model_servers;
mod ops;
mod process;
mod prompt_boundary;
mod ratelimits;
mod scale_out;
mod secrets;
mod storms;
mod two_servers;
