//! Steps: one unit of the bot's work each, callable directly with an injected clock.
//!
//! A step depends only on `domain`, `prompts`, `config` and the `ports`; the actors decide
//! when a step runs and feed it, which keeps every step testable without an actor tree,
//! Discord or a database driver.
//!
//! - `budget`: the daily token budget gate every model call goes through.
//! - `speaking`: what speaking in a channel needs; polishing and sending the bot's text.
//! - `reply`: carries one reply job out, as `domain::plan` decides.
//! - `judgement`: the quick model judgements around a reply (addressed? relationship).
//! - `proactive`: the scheduler's tick (decide per channel) and speaking unprompted.
//! - `consolidation`: the nightly run, day's messages to facts and archive.
//! - `daily`: the day's mood and status line.
//! - `ban_lifting`: lifting temporary bans that ran out.
//! - `leases`: holding a lease on work that must happen once across processes.
//! - `standby`: which servers this process owns, and running a shard range in one process
//!   at a time (the others stand by).

pub mod ban_lifting;
pub mod budget;
pub mod consolidation;
pub mod daily;
pub mod judgement;
pub mod leases;
pub mod proactive;
pub mod reply;
pub mod speaking;
pub mod standby;
