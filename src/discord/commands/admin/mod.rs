//! /admin persona|memory|relationship|state: real-time administration. Allowed for
//! Administrators, the server owner, `bot.owner_ids` and `bot.admin_role_id`, checked on
//! the server side (there is no `default_member_permissions`, so the admin role can see
//! the command). Every subcommand is one typed call on the StoreActor's handle; replies
//! are ephemeral.
//!
//! # Layout
//! - `persona`: /admin persona add|list|edit|remove.
//! - `memories`: /admin memory list|add|edit|delete (+ the fact rendering and autocomplete
//!   that /memory shares).
//! - `relationship`: /admin relationship show|set.
//! - `state`: /admin state list|get|set.

mod memories;
mod persona;
mod relationship;
mod state;

pub use memories::{fact_choices, fact_line, facts_embed};
pub use persona::KindChoice;
pub use relationship::{MetricChoice, relationship_embed};

use super::{Context, Error};
use memories::memory;
use persona::persona;
use relationship::relationship;
use state::state;

/// Discord shows at most 25 autocomplete choices.
const MAX_CHOICES: usize = 25;

/// Administer the bot: persona, members' memories, relationships, global state
#[poise::command(
    slash_command,
    guild_only,
    subcommands("persona", "memory", "relationship", "state")
)]
pub async fn admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}
