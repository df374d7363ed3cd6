//! /admin persona|memory|relationship|state: real-time administration of *this* server.
//! Allowed for its administrators (Administrator or Manage Server), its owner,
//! `bot.admin_role_id` and the bot's owners, checked on the server side for the server the
//! command was invoked in; what every server shares (the base persona, the mood, bot-wide
//! state) is for bot owners only. `default_member_permissions` hides the command from
//! members (never relied on: server admins can change it, so the admin role may need it
//! granted). Every subcommand is one typed call on the StoreActor's handle; replies are
//! ephemeral.
//!
//! # Layout
//! - `persona`: /admin persona add|list|edit|remove.
//! - `memories`: /admin memory list|add|edit|delete (+ the fact rendering and autocomplete
//!   that /memory shares).
//! - `relationship`: /admin relationship show|set|reset.
//! - `state`: /admin state list|get|set|delete (server keys; bot-wide ones for owners).

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
    default_member_permissions = "MANAGE_GUILD",
    subcommands("persona", "memory", "relationship", "state")
)]
pub async fn admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}
