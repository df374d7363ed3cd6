//! Lifting temporary bans when they run out.
//!
//! A temporary ban is a modlog case with `expires_at`; the database is the only memory of
//! it, so bans still get lifted after a restart (the first tick finds every overdue case).
//! This file is the single step the `BanLifter` actor repeats; tests call it directly with
//! a clock of their choosing.
//!
//! A refused unban is charged, backed off and eventually given up by the rules of
//! `domain::lifting` (at most one failed request per server per tick); a case given up is
//! "could not lift" in the modlog, and the server's log channel (if set) gets one notice
//! per tick listing them.
//!
//! A case the store could not write when the moderator acted waits in [`UnrecordedCases`]
//! (memory only): every tick tries to write it, and a temporary ban in it that runs out
//! first is lifted from there.

use crate::config::ModerationSettings;
use crate::domain::lifting::{Halt, LiftPolicy, LiftState, PendingCase, UnbanFailure};
use crate::domain::{BotIdentity, GuildId, ModCase, UserId};
use crate::ports::BanPort;
use crate::ports::store::{BanStore, StoreError};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

/// Most cases held unwritten in memory; past it the oldest is dropped (with an error log).
pub const MAX_UNRECORDED: usize = 1_000;
/// Most case numbers listed in one log-channel notice.
const LISTED_CASES: usize = 25;

pub struct BanLiftingDeps {
    pub store: Arc<dyn BanStore>,
    pub discord: Arc<dyn BanPort>,
    /// The bot's identity once READY; the automatic unban is recorded in its name.
    pub bot: Arc<RwLock<Option<BotIdentity>>>,
    pub policy: LiftPolicy,
    pub unrecorded: UnrecordedCases,
    /// Only bans in servers this process owns are lifted here.
    pub ownership: super::standby::Ownership,
}

/// The retry rules from the `moderation` settings.
pub fn lift_policy(settings: &ModerationSettings) -> LiftPolicy {
    let ms = |v: u64| chrono::Duration::milliseconds(i64::try_from(v).unwrap_or(i64::MAX));
    LiftPolicy {
        max_refusals: settings.unban_max_refusals,
        max_failures: settings.unban_max_failures,
        max_failures_per_tick: settings.unban_max_failures_per_tick,
        retry_base: ms(settings.unban_retry_base_ms),
        retry_max: ms(settings.unban_retry_max_ms),
    }
}

/// Cases done on Discord whose modlog write failed, shared by the moderation commands
/// (which add) and the lifter (which writes them later).
#[derive(Clone, Default)]
pub struct UnrecordedCases(Arc<Mutex<Vec<PendingCase>>>);

impl UnrecordedCases {
    pub fn push(&self, case: PendingCase) {
        let mut cases = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cases.len() >= MAX_UNRECORDED {
            let dropped = cases.remove(0);
            tracing::error!(guild = %dropped.guild, user = %dropped.target, "too many unwritten moderation cases; the oldest is dropped");
        }
        cases.push(case);
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self) -> Vec<PendingCase> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts back what is still unwritten, before anything added meanwhile.
    fn restore(&self, mut kept: Vec<PendingCase>) {
        let mut cases = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.append(&mut cases);
        *cases = kept;
    }
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

/// Lifts every temporary ban due at `now`, charging refusals by `deps.policy`.
pub async fn lift_due_bans(
    deps: &BanLiftingDeps,
    now: DateTime<Utc>,
) -> Result<Vec<LiftedBan>, BanLiftingError> {
    let Some(bot) = deps.bot.read().ok().and_then(|b| b.clone()) else {
        // Not connected yet: Discord calls would fail anyway.
        return Ok(Vec::new());
    };
    write_unrecorded(deps, bot.id, now).await;
    let mut due = deps.store.due_temporary_bans(now).await?;
    due.retain(|ban| deps.ownership.owns(ban.guild_id));
    let mut lifted = Vec::new();
    let mut halted: BTreeSet<GuildId> = BTreeSet::new();
    let mut given_up: BTreeMap<GuildId, (Vec<i32>, UnbanFailure)> = BTreeMap::new();
    let mut failed = 0;
    for (i, ban) in due.iter().enumerate() {
        if halted.contains(&ban.guild_id) {
            continue;
        }
        if !deps.policy.may_send(failed) {
            tracing::warn!(
                failed,
                "too many refused unbans in one tick; the rest wait for the next"
            );
            break;
        }
        let reason = format!("Temporary ban (case #{}) expired", ban.case_number);
        let failure = match unban(deps, ban.guild_id, ban.target_id, &reason).await {
            Ok(()) => {
                let unban = deps
                    .store
                    .lift_temporary_ban(ban.id, ban.guild_id, ban.target_id, bot.id)
                    .await?;
                lifted.push(LiftedBan {
                    ban: ban.clone(),
                    unban,
                });
                continue;
            }
            Err(failure) => failure,
        };
        failed += 1;
        // Cases before this one in its server were lifted (a failure halts the server),
        // so "the server's cases" are this one and the ones after it.
        let charged: Vec<&ModCase> = if failure.charges_server() {
            due[i..]
                .iter()
                .filter(|c| c.guild_id == ban.guild_id)
                .collect()
        } else {
            vec![ban]
        };
        let gave_up = charge(deps, &charged, failure, now).await?;
        if !gave_up.is_empty() {
            let entry = given_up
                .entry(ban.guild_id)
                .or_insert_with(|| (Vec::new(), failure));
            entry.0.extend(gave_up);
        }
        match failure.halts() {
            Halt::Server => {
                halted.insert(ban.guild_id);
            }
            Halt::Tick => break,
        }
    }
    for (guild, (cases, failure)) in given_up {
        tell_log_channel(deps, guild, &cases, failure).await;
    }
    Ok(lifted)
}

/// One unban on Discord; `Ok` also when the ban was already gone.
async fn unban(
    deps: &BanLiftingDeps,
    guild: GuildId,
    user: UserId,
    reason: &str,
) -> Result<(), UnbanFailure> {
    match deps.discord.unban(guild, user, reason).await {
        Ok(outcome) => {
            tracing::info!(%guild, %user, ?outcome, reason, "temporary ban lifted");
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, kind = ?error.kind, %guild, %user, reason, "could not lift a temporary ban");
            Err(error.kind)
        }
    }
}

/// Charges one failure to each case; returns the case numbers given up.
async fn charge(
    deps: &BanLiftingDeps,
    cases: &[&ModCase],
    failure: UnbanFailure,
    now: DateTime<Utc>,
) -> Result<Vec<i32>, StoreError> {
    // Cases with the same history end in the same state: one write per state.
    let mut by_state: Vec<(LiftState, Vec<i64>)> = Vec::new();
    let mut gave_up = Vec::new();
    for case in cases {
        let next = deps.policy.after_failure(case.lift, failure, now);
        if next.given_up_at.is_some() {
            gave_up.push(case.case_number);
        }
        match by_state.iter_mut().find(|(state, _)| *state == next) {
            Some((_, ids)) => ids.push(case.id),
            None => by_state.push((next, vec![case.id])),
        }
    }
    for (state, ids) in by_state {
        deps.store.set_lift_state(ids, state).await?;
    }
    if !gave_up.is_empty() {
        tracing::error!(cases = ?gave_up, ?failure, "gave up lifting temporary bans: could not lift");
    }
    Ok(gave_up)
}

/// One notice for the server's moderators; nothing if no log channel is set. A failed
/// notice is logged, not retried.
async fn tell_log_channel(
    deps: &BanLiftingDeps,
    guild: GuildId,
    cases: &[i32],
    failure: UnbanFailure,
) {
    let channel = match deps.store.log_channel(guild).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, %guild, "could not read the log channel");
            return;
        }
    };
    let tries = match failure {
        UnbanFailure::Transient => deps.policy.max_failures,
        UnbanFailure::MissingPermission | UnbanFailure::Refused => deps.policy.max_refusals,
    };
    let text = could_not_lift_notice(cases, failure, tries);
    if let Err(error) = deps.discord.notify(channel, &text).await {
        tracing::warn!(%error, %guild, %channel, "could not post to the log channel");
    }
}

/// The log-channel notice for cases given up.
pub fn could_not_lift_notice(cases: &[i32], failure: UnbanFailure, tries: u32) -> String {
    let mut listed: Vec<String> = cases
        .iter()
        .take(LISTED_CASES)
        .map(|n| format!("#{n}"))
        .collect();
    if cases.len() > LISTED_CASES {
        listed.push(format!("and {} more", cases.len() - LISTED_CASES));
    }
    let what = if cases.len() == 1 {
        "a temporary ban".to_owned()
    } else {
        format!("{} temporary bans", cases.len())
    };
    format!(
        "I could not lift {what} that ran out ({}, after {tries} tries): case {}. \
         They are marked \"could not lift\" in the modlog; please lift them by hand with /unban.",
        failure.describe(),
        listed.join(", ")
    )
}

/// Writes the cases the store could not take when they happened, lifting a temporary ban
/// among them that ran out meanwhile.
async fn write_unrecorded(deps: &BanLiftingDeps, bot: UserId, now: DateTime<Utc>) {
    let pending = deps.unrecorded.take();
    if pending.is_empty() {
        return;
    }
    let mut kept = Vec::new();
    let mut discord_ok = true;
    for mut case in pending {
        if discord_ok && case.ban_due(now) {
            let reason = "Temporary ban expired";
            match unban(deps, case.guild, case.target, reason).await {
                Ok(()) => case.lifted_at = Some(now),
                Err(failure) => {
                    case.lift = deps.policy.after_failure(case.lift, failure, now);
                    discord_ok = failure.halts() != Halt::Tick;
                }
            }
        }
        match deps.store.record_pending(case.clone(), bot).await {
            Ok(recorded) => {
                tracing::info!(case = recorded.case_number, guild = %recorded.guild_id, "a moderation case was written late")
            }
            Err(error) => {
                tracing::warn!(%error, guild = %case.guild, user = %case.target, "a moderation case still cannot be written");
                kept.push(case);
            }
        }
    }
    deps.unrecorded.restore(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_lists_a_bounded_number_of_cases() {
        let cases: Vec<i32> = (1..=300).collect();
        let text = could_not_lift_notice(&cases, UnbanFailure::MissingPermission, 3);
        assert!(text.contains("300 temporary bans"), "{text}");
        assert!(text.contains("#25, and 275 more"), "{text}");
        assert!(!text.contains("#26"), "{text}");
        assert!(text.len() < 2_000, "fits one Discord message");
        let one = could_not_lift_notice(&[7], UnbanFailure::Refused, 3);
        assert!(
            one.contains("a temporary ban") && one.contains("case #7"),
            "{one}"
        );
    }
}
