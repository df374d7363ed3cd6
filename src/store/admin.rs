//! Administrative operations that are more than one query: each is validated before
//! anything is written (an out-of-range metric, an unknown id or an over-long text is refused
//! with a `StoreError` that names the problem) and changes nothing when refused.
//!
//! The StoreActor applies them in order with every other write, and the bot reads persona,
//! facts, metrics and state from the database on every reply, so a change here shows in the
//! very next reply.

use super::global_state::{global_get, global_list, global_set, global_set_text, global_text};
use super::{Store, StoreError, StoreResult};
use crate::domain::relationship::checked;
use crate::domain::{
    GuildId, MemoryFact, Metric, ModAction, ModCase, NewFact, Relationship, RelationshipChange,
    ServerMember, StateEntry, StateScope, UserId,
};
use chrono::{DateTime, Utc};

/// Longest text accepted for a global-state text value.
pub const MAX_STATE_TEXT_CHARS: usize = super::global_state::MAX_TEXT_CHARS;

impl Store {
    /// Adds a fact about a member by hand (admins, or the member through /memory).
    pub async fn add_fact(
        &self,
        member: ServerMember,
        fact: String,
        category: String,
        now: DateTime<Utc>,
    ) -> StoreResult<MemoryFact> {
        let new = NewFact {
            guild_id: member.guild,
            user_id: member.user,
            fact,
            category,
            embedding: None,
        };
        self.insert_fact(&new, now).await
    }

    /// Edits the member's fact; `category` None keeps the current one.
    pub async fn edit_own_fact(
        &self,
        member: ServerMember,
        id: i64,
        fact: String,
        category: Option<String>,
    ) -> StoreResult<MemoryFact> {
        let category = match category {
            Some(c) => c,
            None => own_fact(self, member, id).await?.category,
        };
        self.edit_fact(member, id, &fact, &category).await
    }

    pub async fn set_metric_checked(
        &self,
        member: ServerMember,
        metric: Metric,
        value: i64,
        reason: String,
        now: DateTime<Utc>,
    ) -> StoreResult<RelationshipChange> {
        // Refused before the transaction starts; the store checks again.
        checked(metric, value)?;
        self.set_metric(member, metric, value, &reason, now).await
    }

    /// Puts every metric of the member in that server back to neutral, logging each change.
    pub async fn reset_relationship(
        &self,
        member: ServerMember,
        reason: String,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<RelationshipChange>> {
        let current = self.relationship(member).await?;
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
        self.save_relationship(member, neutral, &changes, now)
            .await?;
        Ok(changes)
    }

    pub async fn list_state(&self, scope: StateScope) -> StoreResult<Vec<StateEntry>> {
        Ok(global_list(&self.reader, scope)
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
    pub async fn set_state(
        &self,
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
            global_set(&self.writer, scope, &key, value, now).await?;
        }
        if let Some(text) = &text {
            global_set_text(&self.writer, scope, &key, text, now).await?;
        }
        self.state_entry(scope, key).await
    }

    pub async fn state_entry(&self, scope: StateScope, key: String) -> StoreResult<StateEntry> {
        let value = global_get(&self.reader, scope, &key).await?;
        let text = global_text(&self.reader, scope, &key).await?;
        Ok(StateEntry { key, value, text })
    }

    /// Deletes a key of the scope. NotFound-free: deleting a missing key reports `false`.
    pub async fn delete_state(&self, scope: StateScope, key: String) -> StoreResult<bool> {
        super::global_state::global_delete(&self.writer, scope, &key).await
    }

    /// Records a moderation case. A new ban or an unban replaces any temporary ban still
    /// pending, so an old expiry never lifts a newer permanent ban.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_case(
        &self,
        guild: GuildId,
        action: ModAction,
        target: UserId,
        moderator: UserId,
        reason: Option<String>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<ModCase> {
        if matches!(action, ModAction::Ban | ModAction::Unban) {
            settle_temporary_bans(self, guild, target, now).await?;
        }
        self.add_case(
            guild,
            action,
            target,
            moderator,
            reason.as_deref(),
            expires_at,
            now,
        )
        .await
    }

    /// A temporary ban ran out and was lifted on Discord: marks its case and records the
    /// unban (the caller decided it was due, on its own clock).
    pub async fn lift_temporary_ban(
        &self,
        case_id: i64,
        guild: GuildId,
        target: UserId,
        lifted_by: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<ModCase> {
        let pending = self.cases_for(guild, target).await?.into_iter().find(|c| {
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
        self.mark_case_lifted(case.id, now).await?;
        let reason = format!("Temporary ban (case #{}) expired", case.case_number);
        self.add_case(
            case.guild_id,
            ModAction::Unban,
            case.target_id,
            lifted_by,
            Some(&reason),
            None,
            now,
        )
        .await
    }
}

async fn settle_temporary_bans(
    store: &Store,
    guild: GuildId,
    target: UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let pending = store
        .cases_for(guild, target)
        .await?
        .into_iter()
        .filter(|c| c.action == ModAction::Ban && c.expires_at.is_some() && c.lifted_at.is_none());
    for case in pending {
        store.mark_case_lifted(case.id, now).await?;
    }
    Ok(())
}

/// The member's own fact `id` in that server, or NotFound (another member's or another
/// server's id reads as unknown).
async fn own_fact(store: &Store, member: ServerMember, id: i64) -> StoreResult<MemoryFact> {
    store
        .fact(id)
        .await?
        .filter(|f| f.user_id == member.user && f.guild_id == member.guild)
        .ok_or(StoreError::NotFound { what: "fact", id })
}

/// Checks a reason or a text the same way the store will, so commands can refuse early.
pub fn check_text(field: &str, value: &str, max_chars: usize) -> StoreResult<String> {
    super::valid_text(field, value, max_chars)
}
