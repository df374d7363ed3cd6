//! Support tickets: one private thread per ticket, closed with a saved transcript.

use chrono::{DateTime, Utc};
use entity::tickets;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use super::{StoreError, StoreResult, is_unique_violation, ts, valid_text};
use crate::domain::{ChannelId, GuildId, Ticket, TicketStatus, UserId};

/// Longest ticket subject accepted.
pub const MAX_SUBJECT_CHARS: usize = 200;

fn to_domain(m: tickets::Model) -> StoreResult<Ticket> {
    let status = match m.status.as_str() {
        "open" => TicketStatus::Open,
        "closed" => TicketStatus::Closed,
        other => {
            return Err(StoreError::Corrupt(format!(
                "ticket {}: status `{other}`",
                m.id
            )));
        }
    };
    Ok(Ticket {
        id: m.id,
        guild_id: GuildId::from_i64(m.guild_id),
        thread_id: ChannelId::from_i64(m.thread_id),
        opener_id: UserId::from_i64(m.opener_id),
        subject: m.subject,
        status,
        created_at: m.created_at,
        closed_at: m.closed_at,
        closed_by: m.closed_by.map(UserId::from_i64),
        transcript: m.transcript,
    })
}

/// Opens a ticket for a new thread. A thread can hold only one ticket.
pub async fn open_ticket<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    thread: ChannelId,
    opener: UserId,
    subject: &str,
    now: DateTime<Utc>,
) -> StoreResult<Ticket> {
    let subject = valid_text("subject", subject, MAX_SUBJECT_CHARS)?;
    let row = tickets::ActiveModel {
        guild_id: Set(guild.as_i64()),
        thread_id: Set(thread.as_i64()),
        opener_id: Set(opener.as_i64()),
        subject: Set(subject),
        status: Set("open".to_owned()),
        created_at: Set(ts(now)),
        closed_at: Set(None),
        closed_by: Set(None),
        transcript: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Invalid(format!("thread {thread} already has a ticket"))
        } else {
            e.into()
        }
    })?;
    to_domain(row)
}

pub async fn ticket_by_thread<C: ConnectionTrait>(
    db: &C,
    thread: ChannelId,
) -> StoreResult<Option<Ticket>> {
    tickets::Entity::find()
        .filter(tickets::Column::ThreadId.eq(thread.as_i64()))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// Closes the ticket of a thread, saving the transcript. NotFound without a ticket; Invalid if
/// it is already closed.
pub async fn close_ticket<C: ConnectionTrait>(
    db: &C,
    thread: ChannelId,
    closed_by: UserId,
    transcript: &str,
    now: DateTime<Utc>,
) -> StoreResult<Ticket> {
    let row = tickets::Entity::find()
        .filter(tickets::Column::ThreadId.eq(thread.as_i64()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound {
            what: "ticket for thread",
            id: thread.as_i64(),
        })?;
    if row.status != "open" {
        return Err(StoreError::Invalid(format!(
            "the ticket of thread {thread} is already closed"
        )));
    }
    let mut am = row.into_active_model();
    am.status = Set("closed".to_owned());
    am.closed_at = Set(Some(ts(now)));
    am.closed_by = Set(Some(closed_by.as_i64()));
    am.transcript = Set(Some(transcript.to_owned()));
    to_domain(am.update(db).await?)
}
