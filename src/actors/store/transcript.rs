//! The reads of the chat log that see messages not yet written: the database's rows merged
//! with the journal's, so a reply never waits for a write (`Access::MergesJournal`).
//!
//! The journal is read before the database: a message written (and so dropped from the
//! journal) between the two reads is then in both, and the merge keeps one copy; read the
//! other way round, it could be in neither.

use super::Ctx;
use super::journal;
use crate::domain::spend::{Charge, day_of};
use crate::domain::{ChannelId, LoggedMessage, ServerMember};
use crate::ports::store::{ReplyInputs, StoreResult};
use crate::store::{facts, global_state, messages, persona, relationships, usage, users};
use chrono::{DateTime, Utc};

pub async fn recent_messages(
    cx: Ctx<'_>,
    channel: ChannelId,
    since: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<LoggedMessage>> {
    let pending = cx.journal.of_channel(channel, since);
    let stored = messages::recent_messages(cx.db, channel, since, limit).await?;
    Ok(journal::merge_transcript(stored, pending, limit))
}

pub async fn last_message(cx: Ctx<'_>, channel: ChannelId) -> StoreResult<Option<LoggedMessage>> {
    let unwritten = cx.journal.of_channel(channel, DateTime::<Utc>::MIN_UTC);
    let stored = messages::last_message(cx.db, channel).await?;
    Ok(stored
        .filter(|m| !unwritten.deleted.contains(&m.id))
        .into_iter()
        .chain(unwritten.messages)
        .max_by_key(|m| (m.created_at, m.id)))
}

/// Everything a reply is built from, read concurrently. Everything about the member comes
/// from the server the reply is in; a member who turned memory off (or a server that did)
/// gets no remembered facts.
pub async fn reply_inputs(
    cx: Ctx<'_>,
    channel: ChannelId,
    member: ServerMember,
    since: DateTime<Utc>,
    max_messages: u64,
) -> StoreResult<ReplyInputs> {
    let pending = cx.journal.of_channel(channel, since);
    // Today's token spend of the scopes the reply is charged to, for the budget gate.
    let day = day_of(cx.now);
    let scopes = Charge::member(member.guild.as_server(), member.user).scopes();
    // Spend cast to the write lane and not written yet counts too (snapshot first).
    let unwritten = cx.journal.spend.of(&day, &scopes);
    let db = cx.db;
    let (stored, facts, relationship, known_names, persona, mood, remembers, spend) = futures::try_join!(
        messages::recent_messages(db, channel, since, max_messages),
        facts::facts_of_member(db, member, false, cx.model),
        relationships::relationship(db, member),
        users::known_names_in(db, member.user, member.guild),
        persona::persona(db, member.guild.as_server()),
        global_state::mood(db),
        users::remembers(db, member),
        usage::spend_on(db, &day, &scopes),
    )?;
    Ok(ReplyInputs {
        transcript: journal::merge_transcript(stored, pending, max_messages),
        facts: if remembers { facts } else { Vec::new() },
        relationship,
        known_names,
        persona,
        mood,
        spend: super::unwritten_spend::merge(spend, unwritten),
    })
}
