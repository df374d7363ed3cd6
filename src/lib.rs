//! personabot: an AI persona bot for Discord.
//!
//! # Layout
//! - `domain`: pure rules (ids, relationship math, triggers, memory merge, rolls); no I/O.
//! - `prompts`: every prompt the bot sends, as templates rendered by pure functions.
//! - `store`: SeaORM persistence, one file per table group, returning domain types.
pub mod domain;
pub mod prompts;
pub mod store;
