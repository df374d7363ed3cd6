//! The permanent archive: where the nightly run moves a day's messages, what a member's
//! export and erasure read and delete there, deleted messages leaving both tables, and
//! retention.

use chrono::{DateTime, Utc};
use entity::{archived_messages, short_term_messages};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::messages::from_archived;
use super::{StoreResult, batches, ts};
use crate::domain::{LoggedMessage, MessageId, UserId};

/// Moves messages from the short-term log to the archive: insert (ignoring ones already
/// archived), then delete. Run it inside the caller's transaction to make it atomic with other
/// work; on its own each chunk is two statements. Returns how many left the short-term log.
pub async fn archive_messages<C: ConnectionTrait>(
    db: &C,
    ids: &[MessageId],
    archived_at: DateTime<Utc>,
) -> StoreResult<u64> {
    let archived_at = ts(archived_at);
    let mut moved = 0;
    for chunk in batches(ids) {
        let raw: Vec<i64> = chunk.iter().map(|id| id.as_i64()).collect();
        let rows = short_term_messages::Entity::find()
            .filter(short_term_messages::Column::MessageId.is_in(raw.iter().copied()))
            .all(db)
            .await?;
        if rows.is_empty() {
            continue;
        }
        let copies = rows.into_iter().map(|m| archived_messages::ActiveModel {
            message_id: Set(m.message_id),
            channel_id: Set(m.channel_id),
            guild_id: Set(m.guild_id),
            author_id: Set(m.author_id),
            author_name: Set(m.author_name),
            is_bot: Set(m.is_bot),
            content: Set(m.content),
            reply_to: Set(m.reply_to),
            created_at: Set(m.created_at),
            edited_at: Set(m.edited_at),
            archived_at: Set(archived_at),
        });
        archived_messages::Entity::insert_many(copies)
            .on_conflict_do_nothing()
            .exec_without_returning(db)
            .await?;
        let deleted = short_term_messages::Entity::delete_many()
            .filter(short_term_messages::Column::MessageId.is_in(raw))
            .exec(db)
            .await?;
        moved += deleted.rows_affected;
    }
    Ok(moved)
}

/// A member's archived messages, oldest first.
pub async fn archived_of_user<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<Vec<LoggedMessage>> {
    Ok(archived_messages::Entity::find()
        .filter(archived_messages::Column::AuthorId.eq(user.as_i64()))
        .order_by_asc(archived_messages::Column::CreatedAt)
        .order_by_asc(archived_messages::Column::MessageId)
        .all(db)
        .await?
        .into_iter()
        .map(from_archived)
        .collect())
}

/// Forgets deleted messages (both tables), in [`batches`] of ids. Returns how many
/// rows went; ids that were never logged are skipped.
pub async fn delete_messages<C: ConnectionTrait>(db: &C, ids: &[MessageId]) -> StoreResult<u64> {
    let mut removed = 0;
    for chunk in batches(ids) {
        let ids: Vec<i64> = chunk.iter().map(|id| id.as_i64()).collect();
        let a = short_term_messages::Entity::delete_many()
            .filter(short_term_messages::Column::MessageId.is_in(ids.clone()))
            .exec(db)
            .await?;
        let b = archived_messages::Entity::delete_many()
            .filter(archived_messages::Column::MessageId.is_in(ids))
            .exec(db)
            .await?;
        removed += a.rows_affected + b.rows_affected;
    }
    Ok(removed)
}

/// Deletes everything a member wrote, from both tables. Returns the number of rows removed.
pub async fn delete_user_messages<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<u64> {
    let a = short_term_messages::Entity::delete_many()
        .filter(short_term_messages::Column::AuthorId.eq(user.as_i64()))
        .exec(db)
        .await?;
    let b = archived_messages::Entity::delete_many()
        .filter(archived_messages::Column::AuthorId.eq(user.as_i64()))
        .exec(db)
        .await?;
    Ok(a.rows_affected + b.rows_affected)
}

/// Retention: drops archived messages created before `cutoff`.
pub async fn purge_archived_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(archived_messages::Entity::delete_many()
        .filter(archived_messages::Column::CreatedAt.lt(ts(cutoff)))
        .exec(db)
        .await?
        .rows_affected)
}
