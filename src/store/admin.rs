//! Administrative operations that are more than one query: each is validated before
//! anything is written (an out-of-range metric, an unknown id or an over-long text is refused
//! with a `StoreError` that names the problem) and changes nothing when refused.
//!
//! The StoreActor applies them in order with every other write, and the bot reads persona,
//! facts, metrics and state from the database on every reply, so a change here shows in the
//! very next reply.

use super::global_state::{global_get, global_list, global_set, global_set_text, global_text};
use super::{StoreError, StoreResult};
use super::{facts, modlog, relationships};
use crate::domain::relationship::checked;
use crate::domain::{
    GuildId, MemoryFact, Metric, ModAction, ModCase, NewFact, Relationship, RelationshipChange,
    ServerMember, StateEntry, StateScope, UserId,
};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};

/// Longest text accepted for a global-state text value.
pub const MAX_STATE_TEXT_CHARS: usize = super::global_state::MAX_TEXT_CHARS;

/// Adds a fact about a member by hand (admins, or the member through /memory).
pub async fn add_fact<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    fact: String,
    category: String,
    model: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<MemoryFact> {
    let new = NewFact {
        guild_id: member.guild,
        user_id: member.user,
        fact,
        category,
        embedding: None,
    };
    facts::insert_fact(db, &new, model, now).await
}

/// Edits the member's own fact; `category` None keeps the current one.
pub async fn edit_own_fact<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    id: i64,
    fact: String,
    category: Option<String>,
    model: Option<&str>,
) -> StoreResult<MemoryFact> {
    let category = match category {
        Some(c) => c,
        None => own_fact(db, member, id, model).await?.category,
    };
    facts::edit_fact(db, member, id, &fact, &category, model).await
}

pub async fn set_metric_checked<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    member: ServerMember,
    metric: Metric,
    value: i64,
    reason: String,
    now: DateTime<Utc>,
) -> StoreResult<RelationshipChange> {
    // Refused before the transaction starts; the store checks again.
    checked(metric, value)?;
    relationships::set_metric(db, member, metric, value, &reason, now).await
}

/// Every metric back to neutral, each change recorded with `reason`.
pub async fn reset_relationship<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    member: ServerMember,
    reason: String,
    now: DateTime<Utc>,
) -> StoreResult<Vec<RelationshipChange>> {
    let current = relationships::relationship(db, member).await?;
    let neutral = Relationship::default();
    let changes: Vec<RelationshipChange> = Metric::ALL
        .iter()
        .filter(|m| current.get(**m) != neutral.get(**m))
        .map(|m| RelationshipChange {
            metric: *m,
            old_value: current.get(*m),
            new_value: neutral.get(*m),
            reason: reason.clone(),
        })
        .collect();
    relationships::save_relationship(db, member, neutral, &changes, now).await?;
    Ok(changes)
}

pub async fn list_state<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
) -> StoreResult<Vec<StateEntry>> {
    Ok(global_list(db, scope)
        .await?
        .into_iter()
        .map(|(key, value, text)| StateEntry {
            key,
            value: Some(value),
            text,
        })
        .collect())
}

/// Sets the number, the text, or both; at least one must be given.
pub async fn set_state<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
    key: String,
    value: Option<i64>,
    text: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<StateEntry> {
    super::global_state::valid_key(&key)?;
    if value.is_none() && text.is_none() {
        return Err(StoreError::Invalid(
            "give a number, a text, or both".to_owned(),
        ));
    }
    if let Some(text) = &text
        && text.chars().count() > MAX_STATE_TEXT_CHARS
    {
        return Err(StoreError::Invalid(format!(
            "text is {} characters long; the limit is {MAX_STATE_TEXT_CHARS}",
            text.chars().count()
        )));
    }
    if let Some(value) = value {
        global_set(db, scope, &key, value, now).await?;
    }
    if let Some(text) = &text {
        global_set_text(db, scope, &key, text, now).await?;
    }
    state_entry(db, scope, key).await
}

pub async fn state_entry<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
    key: String,
) -> StoreResult<StateEntry> {
    let value = global_get(db, scope, &key).await?;
    let text = global_text(db, scope, &key).await?;
    Ok(StateEntry { key, value, text })
}

/// Records a case; a new ban or an unban also settles any temporary ban still pending.
#[allow(clippy::too_many_arguments)]
pub async fn record_case<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    guild: GuildId,
    action: ModAction,
    target: UserId,
    moderator: UserId,
    reason: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<ModCase> {
    if matches!(action, ModAction::Ban | ModAction::Unban) {
        settle_temporary_bans(db, guild, target, now).await?;
    }
    let reason = reason.as_deref();
    modlog::add_case(
        db, guild, action, target, moderator, reason, expires_at, now,
    )
    .await
}

/// Marks a pending temporary ban lifted and records the unban.
pub async fn lift_temporary_ban<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    case_id: i64,
    guild: GuildId,
    target: UserId,
    lifted_by: UserId,
    now: DateTime<Utc>,
) -> StoreResult<ModCase> {
    let pending = modlog::cases_for(db, guild, target)
        .await?
        .into_iter()
        .find(|c| {
            c.id == case_id
                && c.action == ModAction::Ban
                && c.expires_at.is_some()
                && c.lifted_at.is_none()
        });
    let Some(case) = pending else {
        return Err(StoreError::NotFound {
            what: "pending temporary ban",
            id: case_id,
        });
    };
    modlog::mark_case_lifted(db, case.id, now).await?;
    let reason = format!("Temporary ban (case #{}) expired", case.case_number);
    let (unban, target) = (ModAction::Unban, case.target_id);
    modlog::add_case(
        db,
        case.guild_id,
        unban,
        target,
        lifted_by,
        Some(&reason),
        None,
        now,
    )
    .await
}

async fn settle_temporary_bans<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    target: UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let pending = modlog::cases_for(db, guild, target)
        .await?
        .into_iter()
        .filter(|c| c.action == ModAction::Ban && c.expires_at.is_some() && c.lifted_at.is_none());
    for case in pending {
        modlog::mark_case_lifted(db, case.id, now).await?;
    }
    Ok(())
}

/// The member's own fact `id` in that server, or NotFound (another member's or another
/// server's id reads as unknown).
async fn own_fact<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    id: i64,
    model: Option<&str>,
) -> StoreResult<MemoryFact> {
    facts::fact(db, id, model)
        .await?
        .filter(|f| f.user_id == member.user && f.guild_id == member.guild)
        .ok_or(StoreError::NotFound { what: "fact", id })
}
