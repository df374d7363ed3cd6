//! Lifting temporary bans when they run out.
//!
//! A temporary ban is a modlog case with `expires_at`; the database is the only memory of
//! it, so bans still get lifted after a restart (the first tick finds every overdue case).
//! This file is the single step the `BanLifter` actor repeats; tests call it directly with
//! a clock of their choosing.

use crate::domain::{BotIdentity, ModCase};
use crate::ports::BanPort;
use crate::ports::store::{BanStore, StoreError};
use chrono::{DateTime, Utc};
use std::sync::{Arc, RwLock};

pub struct BanLiftingDeps {
    pub store: Arc<dyn BanStore>,
    pub discord: Arc<dyn BanPort>,
    /// The bot's identity once READY; the automatic unban is recorded in its name.
    pub bot: Arc<RwLock<Option<BotIdentity>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BanLiftingError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One lifted ban: the original case and the unban case recorded for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiftedBan {
    pub ban: ModCase,
    pub unban: ModCase,
}

/// Lifts every temporary ban due at `now`. A ban Discord refuses to lift (missing
/// permission, outage) stays due and is tried again on the next tick; the others go ahead.
pub async fn lift_due_bans(
    deps: &BanLiftingDeps,
    now: DateTime<Utc>,
) -> Result<Vec<LiftedBan>, BanLiftingError> {
    let Some(bot) = deps.bot.read().ok().and_then(|b| b.clone()) else {
        // Not connected yet: Discord calls would fail anyway.
        return Ok(Vec::new());
    };
    let due = deps.store.due_temporary_bans(now).await?;
    let mut lifted = Vec::with_capacity(due.len());
    for ban in due {
        let reason = format!("Temporary ban (case #{}) expired", ban.case_number);
        match deps
            .discord
            .unban(ban.guild_id, ban.target_id, &reason)
            .await
        {
            Ok(outcome) => {
                tracing::info!(case = ban.case_number, guild = %ban.guild_id, user = %ban.target_id, ?outcome, "temporary ban lifted");
            }
            Err(error) => {
                tracing::warn!(%error, case = ban.case_number, guild = %ban.guild_id, "could not lift a temporary ban; will retry");
                continue;
            }
        }
        let unban = deps
            .store
            .lift_temporary_ban(ban.id, ban.guild_id, ban.target_id, bot.id)
            .await?;
        lifted.push(LiftedBan { ban, unban });
    }
    Ok(lifted)
}
