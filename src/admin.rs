//! Real-time administration: every admin slash command becomes one typed `AdminRequest`,
//! applied by the StoreActor in order with all other writes. The bot reads persona, facts,
//! metrics and state from the database on every reply, so a change here shows in the very
//! next reply.
//!
//! Values are validated here (or by the store functions this calls) before anything is
//! written: an out-of-range metric, an unknown id or an over-long text is refused with a
//! `StoreError` that names the problem, and nothing changes.

use crate::domain::relationship::checked;
use crate::domain::{
    ChannelId, ChannelPolicy, GuildId, MemoryFact, Metric, NewFact, PersonaEntry, PersonaKind,
    Relationship, RelationshipChange, UserId,
};
use crate::store::{DeletionReport, ModAction, ModCase, Store, StoreError, Ticket, UserExport};
use chrono::{DateTime, Utc};

/// Longest text accepted for a global-state text value.
pub const MAX_STATE_TEXT_CHARS: usize = crate::store::global_state::MAX_TEXT_CHARS;

/// One administrative change or query.
#[derive(Clone, Debug)]
pub enum AdminRequest {
    // Persona.
    AddPersonaEntry {
        kind: PersonaKind,
        content: String,
    },
    ListPersona,
    EditPersonaEntry {
        id: i64,
        content: String,
    },
    RemovePersonaEntry {
        id: i64,
    },
    // A member's memories (admins, or the member themself through /memory).
    ListFacts {
        user: UserId,
    },
    AddFact {
        user: UserId,
        fact: String,
        category: String,
    },
    /// `category` None keeps the current one.
    EditFact {
        user: UserId,
        id: i64,
        fact: String,
        category: Option<String>,
    },
    DeleteFact {
        user: UserId,
        id: i64,
    },
    DeleteAllFacts {
        user: UserId,
    },
    ExportUser {
        user: UserId,
    },
    /// Everything stored about a member (messages, facts, metrics, names).
    DeleteUserData {
        user: UserId,
    },
    // Relationship metrics.
    ShowRelationship {
        user: UserId,
    },
    SetMetric {
        user: UserId,
        metric: Metric,
        value: i64,
        reason: String,
    },
    // Global state.
    ListState,
    GetState {
        key: String,
    },
    /// Sets the number, the text, or both; at least one must be given.
    SetState {
        key: String,
        value: Option<i64>,
        text: Option<String>,
    },
    // Where the bot speaks.
    SetGuildEnabled {
        guild: GuildId,
        enabled: bool,
    },
    SetChannelEnabled {
        guild: Option<GuildId>,
        channel: ChannelId,
        enabled: Option<bool>,
    },
    SetChannelProactive {
        guild: Option<GuildId>,
        channel: ChannelId,
        enabled: bool,
    },
    ChannelStatus {
        guild: Option<GuildId>,
        channel: ChannelId,
        default: ChannelPolicy,
    },
    // Moderation log.
    AddCase {
        guild: GuildId,
        action: ModAction,
        target: UserId,
        moderator: UserId,
        reason: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    },
    ListCases {
        guild: GuildId,
        target: UserId,
    },
    /// A temporary ban ran out and was lifted on Discord: marks its case and records the
    /// unban (the caller decided it was due, on its own clock).
    LiftTemporaryBan {
        case_id: i64,
        guild: GuildId,
        target: UserId,
        lifted_by: UserId,
    },
    // Tickets.
    OpenTicket {
        guild: GuildId,
        thread: ChannelId,
        opener: UserId,
        subject: String,
    },
    CloseTicket {
        thread: ChannelId,
        closed_by: UserId,
        transcript: String,
    },
}

/// What an `AdminRequest` produced.
#[derive(Clone, Debug)]
pub enum AdminReply {
    PersonaEntry(PersonaEntry),
    PersonaEntries(Vec<PersonaEntry>),
    Fact(MemoryFact),
    Facts(Vec<MemoryFact>),
    Relationship(Relationship),
    MetricChanged(RelationshipChange),
    State(Vec<StateEntry>),
    StateEntry(StateEntry),
    Policy(ChannelPolicy),
    Case(ModCase),
    Cases(Vec<ModCase>),
    Ticket(Ticket),
    Export(Box<UserExport>),
    Deletion(DeletionReport),
    /// How many rows a deletion removed.
    Removed(u64),
    Done,
}

/// One global-state key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StateEntry {
    pub key: String,
    /// `None` when the key does not exist.
    pub value: Option<i64>,
    pub text: Option<String>,
}

/// Applies one request.
pub async fn apply(
    store: &Store,
    request: AdminRequest,
    now: DateTime<Utc>,
) -> Result<AdminReply, StoreError> {
    use AdminReply as R;
    use AdminRequest as Q;
    Ok(match request {
        Q::AddPersonaEntry { kind, content } => {
            R::PersonaEntry(store.add_persona_entry(kind, &content, now).await?)
        }
        Q::ListPersona => R::PersonaEntries(store.persona().await?.entries),
        Q::EditPersonaEntry { id, content } => {
            R::PersonaEntry(store.edit_persona_entry(id, &content, now).await?)
        }
        Q::RemovePersonaEntry { id } => {
            store.remove_persona_entry(id).await?;
            R::Removed(1)
        }
        Q::ListFacts { user } => R::Facts(store.facts_of_user(user, false).await?),
        Q::AddFact {
            user,
            fact,
            category,
        } => {
            let new = NewFact {
                user_id: user,
                fact,
                category,
                embedding: None,
            };
            R::Fact(store.insert_fact(&new, now).await?)
        }
        Q::EditFact {
            user,
            id,
            fact,
            category,
        } => {
            let category = match category {
                Some(c) => c,
                None => own_fact(store, user, id).await?.category,
            };
            R::Fact(store.edit_fact(user, id, &fact, &category).await?)
        }
        Q::DeleteFact { user, id } => {
            store.delete_fact(user, id).await?;
            R::Removed(1)
        }
        Q::DeleteAllFacts { user } => R::Removed(store.delete_all_facts(user).await?),
        Q::ExportUser { user } => R::Export(Box::new(store.export_user(user).await?)),
        Q::DeleteUserData { user } => R::Deletion(store.delete_user_data(user).await?),
        Q::ShowRelationship { user } => R::Relationship(store.relationship(user).await?),
        Q::SetMetric {
            user,
            metric,
            value,
            reason,
        } => {
            // Refused before the transaction starts; the store checks again.
            checked(metric, value)?;
            R::MetricChanged(store.set_metric(user, metric, value, &reason, now).await?)
        }
        Q::ListState => R::State(
            store
                .global_list()
                .await?
                .into_iter()
                .map(|(key, value, text)| StateEntry {
                    key,
                    value: Some(value),
                    text,
                })
                .collect(),
        ),
        Q::GetState { key } => R::StateEntry(state_entry(store, key).await?),
        Q::SetState { key, value, text } => {
            crate::store::global_state::valid_key(&key)?;
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
                store.global_set(&key, value, now).await?;
            }
            if let Some(text) = &text {
                store.global_set_text(&key, text, now).await?;
            }
            R::StateEntry(state_entry(store, key).await?)
        }
        Q::SetGuildEnabled { guild, enabled } => {
            store.set_guild_enabled(guild, enabled, now).await?;
            R::Done
        }
        Q::SetChannelEnabled {
            guild,
            channel,
            enabled,
        } => {
            store
                .set_channel_enabled(guild, channel, enabled, now)
                .await?;
            R::Done
        }
        Q::SetChannelProactive {
            guild,
            channel,
            enabled,
        } => {
            store
                .set_channel_proactive(guild, channel, enabled, now)
                .await?;
            R::Done
        }
        Q::ChannelStatus {
            guild,
            channel,
            default,
        } => R::Policy(store.channel_policy(guild, channel, default).await?),
        Q::AddCase {
            guild,
            action,
            target,
            moderator,
            reason,
            expires_at,
        } => {
            if matches!(action, ModAction::Ban | ModAction::Unban) {
                // A new ban or an unban replaces any temporary ban still pending, so an old
                // expiry never lifts a newer permanent ban.
                settle_temporary_bans(store, guild, target, now).await?;
            }
            R::Case(
                store
                    .add_case(
                        guild,
                        action,
                        target,
                        moderator,
                        reason.as_deref(),
                        expires_at,
                        now,
                    )
                    .await?,
            )
        }
        Q::ListCases { guild, target } => R::Cases(store.cases_for(guild, target).await?),
        Q::LiftTemporaryBan {
            case_id,
            guild,
            target,
            lifted_by,
        } => {
            let pending = store.cases_for(guild, target).await?.into_iter().find(|c| {
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
            store.mark_case_lifted(case.id, now).await?;
            let reason = format!("Temporary ban (case #{}) expired", case.case_number);
            R::Case(
                store
                    .add_case(
                        case.guild_id,
                        ModAction::Unban,
                        case.target_id,
                        lifted_by,
                        Some(&reason),
                        None,
                        now,
                    )
                    .await?,
            )
        }
        Q::OpenTicket {
            guild,
            thread,
            opener,
            subject,
        } => R::Ticket(
            store
                .open_ticket(guild, thread, opener, &subject, now)
                .await?,
        ),
        Q::CloseTicket {
            thread,
            closed_by,
            transcript,
        } => R::Ticket(
            store
                .close_ticket(thread, closed_by, &transcript, now)
                .await?,
        ),
    })
}

async fn settle_temporary_bans(
    store: &Store,
    guild: GuildId,
    target: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
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

/// The member's own current fact `id`, or NotFound (another member's id reads as unknown).
async fn own_fact(store: &Store, user: UserId, id: i64) -> Result<MemoryFact, StoreError> {
    store
        .fact(id)
        .await?
        .filter(|f| f.user_id == user)
        .ok_or(StoreError::NotFound { what: "fact", id })
}

async fn state_entry(store: &Store, key: String) -> Result<StateEntry, StoreError> {
    let value = store.global_get(&key).await?;
    let text = store.global_text(&key).await?;
    Ok(StateEntry { key, value, text })
}

/// Checks a reason or a text the same way the store will, so commands can refuse early.
pub fn check_text(field: &str, value: &str, max_chars: usize) -> Result<String, StoreError> {
    crate::store::valid_text(field, value, max_chars)
}
