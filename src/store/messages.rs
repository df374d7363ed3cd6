//! The message log: the short-term table the bot reads its context from, and the archive that
//! consolidation moves messages into once their facts are extracted.
//!
//! Appends are idempotent (`ON CONFLICT (message_id) DO NOTHING`) because the gateway and the
//! startup backfill can deliver the same message twice. Archiving is insert-then-delete, generic
//! over the connection so consolidation can commit new facts and the archive move together.

use chrono::{DateTime, Utc};
use entity::{archived_messages, short_term_messages};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionSession, TransactionTrait, TryInsertResult,
};

use super::{Store, StoreResult, batches, ts};
use crate::domain::{ChannelId, GuildId, LoggedMessage, MessageId, ServerMember, UserId};

pub(super) fn from_short(m: short_term_messages::Model) -> LoggedMessage {
    from_row((
        m.message_id,
        m.channel_id,
        m.guild_id,
        m.author_id,
        m.author_name,
        m.is_bot,
        m.content,
        m.reply_to,
        m.created_at,
    ))
}

pub(super) fn from_archived(m: archived_messages::Model) -> LoggedMessage {
    from_row((
        m.message_id,
        m.channel_id,
        m.guild_id,
        m.author_id,
        m.author_name,
        m.is_bot,
        m.content,
        m.reply_to,
        m.created_at,
    ))
}

fn to_short(m: &LoggedMessage) -> short_term_messages::ActiveModel {
    short_term_messages::ActiveModel {
        message_id: Set(m.id.as_i64()),
        channel_id: Set(m.channel_id.as_i64()),
        guild_id: Set(m.guild_id.map(GuildId::as_i64)),
        author_id: Set(m.author_id.as_i64()),
        author_name: Set(m.author_name.clone()),
        is_bot: Set(m.is_bot),
        content: Set(m.content.clone()),
        reply_to: Set(m.reply_to.map(MessageId::as_i64)),
        created_at: Set(ts(m.created_at)),
        edited_at: Set(None),
    }
}

fn inserted(r: TryInsertResult<u64>) -> u64 {
    match r {
        TryInsertResult::Inserted(n) => n,
        TryInsertResult::Empty | TryInsertResult::Conflicted => 0,
    }
}

/// Appends messages in one transaction, in [`batches`] of rows. Already-logged ids are
/// skipped. Returns how many rows were new.
pub async fn append_messages<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    msgs: &[LoggedMessage],
) -> StoreResult<u64> {
    if msgs.is_empty() {
        return Ok(0);
    }
    let txn = db.begin().await?;
    let mut added = 0;
    for chunk in batches(msgs) {
        let r = short_term_messages::Entity::insert_many(chunk.iter().map(to_short))
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await?;
        added += inserted(r);
    }
    txn.commit().await?;
    Ok(added)
}

/// Replaces a message's text wherever it is logged. False if the message is unknown.
pub async fn edit_message<C: ConnectionTrait>(
    db: &C,
    id: MessageId,
    content: &str,
    edited_at: DateTime<Utc>,
) -> StoreResult<bool> {
    let short = short_term_messages::Entity::update_many()
        .col_expr(short_term_messages::Column::Content, Expr::value(content))
        .col_expr(
            short_term_messages::Column::EditedAt,
            Expr::value(Some(ts(edited_at))),
        )
        .filter(short_term_messages::Column::MessageId.eq(id.as_i64()))
        .exec(db)
        .await?;
    let archived = archived_messages::Entity::update_many()
        .col_expr(archived_messages::Column::Content, Expr::value(content))
        .col_expr(
            archived_messages::Column::EditedAt,
            Expr::value(Some(ts(edited_at))),
        )
        .filter(archived_messages::Column::MessageId.eq(id.as_i64()))
        .exec(db)
        .await?;
    Ok(short.rows_affected + archived.rows_affected > 0)
}

/// The newest `limit` messages of a channel created at or after `since`, oldest first.
pub async fn recent_messages<C: ConnectionTrait>(
    db: &C,
    channel: ChannelId,
    since: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<LoggedMessage>> {
    // The window may straddle the nightly archiving: read both tables, keep the newest.
    let mut rows = newest_rows!(short_term_messages, db, channel, since, limit);
    if rows.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.extend(newest_rows!(archived_messages, db, channel, since, limit));
        rows.sort_unstable_by_key(|row| std::cmp::Reverse((row.8, row.0)));
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    rows.reverse();
    Ok(rows.into_iter().map(from_row).collect())
}

/// The newest `limit` messages of `channel` since `since` in one table, newest first, read
/// by position into tuples: that skips the per-row column-name lookups of full models
/// (the reply's hot path; measured in `benches/store.rs`).
macro_rules! newest_rows {
    ($table:ident, $db:expr, $channel:expr, $since:expr, $limit:expr) => {{
        use $table::Column as C;
        let rows: Vec<MessageRow> = $table::Entity::find()
            .select_only()
            .columns([
                C::MessageId,
                C::ChannelId,
                C::GuildId,
                C::AuthorId,
                C::AuthorName,
                C::IsBot,
                C::Content,
                C::ReplyTo,
                C::CreatedAt,
            ])
            .filter(C::ChannelId.eq($channel.as_i64()))
            .filter(C::CreatedAt.gte(ts($since)))
            .order_by_desc(C::CreatedAt)
            .order_by_desc(C::MessageId)
            .limit($limit)
            .into_tuple()
            .all($db)
            .await?;
        rows
    }};
}
use newest_rows;

/// A logged message's columns, in order (what `recent_messages` selects; full rows of
/// either table map through it too).
type MessageRow = (
    i64,
    i64,
    Option<i64>,
    i64,
    String,
    bool,
    String,
    Option<i64>,
    DateTime<Utc>,
);

fn from_row(
    (id, channel, guild, author, author_name, is_bot, content, reply_to, created_at): MessageRow,
) -> LoggedMessage {
    LoggedMessage {
        id: MessageId::from_i64(id),
        channel_id: ChannelId::from_i64(channel),
        guild_id: guild.map(GuildId::from_i64),
        author_id: UserId::from_i64(author),
        author_name,
        is_bot,
        content,
        reply_to: reply_to.map(MessageId::from_i64),
        created_at,
    }
}

/// The newest logged message of a channel.
pub async fn last_message<C: ConnectionTrait>(
    db: &C,
    channel: ChannelId,
) -> StoreResult<Option<LoggedMessage>> {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let mut rows = newest_rows!(short_term_messages, db, channel, epoch, 1);
    if rows.is_empty() {
        // Right after the nightly run the short-term log is empty; the archive knows.
        rows = newest_rows!(archived_messages, db, channel, epoch, 1);
    }
    Ok(rows.pop().map(from_row))
}

/// One message, from the short-term log or else the archive.
pub async fn message<C: ConnectionTrait>(
    db: &C,
    id: MessageId,
) -> StoreResult<Option<LoggedMessage>> {
    if let Some(m) = short_term_messages::Entity::find_by_id(id.as_i64())
        .one(db)
        .await?
    {
        return Ok(Some(from_short(m)));
    }
    Ok(archived_messages::Entity::find_by_id(id.as_i64())
        .one(db)
        .await?
        .map(from_archived))
}

/// A member's messages in the short-term log since `since`, oldest first.
pub async fn messages_of_user_since<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    since: DateTime<Utc>,
) -> StoreResult<Vec<LoggedMessage>> {
    short_term_of_user_where(
        db,
        user,
        short_term_messages::Column::CreatedAt.gte(ts(since)),
    )
    .await
}

/// All of a member's messages in the short-term log, oldest first (data export).
pub async fn short_term_of_user<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<Vec<LoggedMessage>> {
    short_term_of_user_where(db, user, Condition::all()).await
}

/// A member's short-term messages matching `when`, oldest first.
async fn short_term_of_user_where<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    when: impl IntoCondition,
) -> StoreResult<Vec<LoggedMessage>> {
    Ok(short_term_messages::Entity::find()
        .filter(short_term_messages::Column::AuthorId.eq(user.as_i64()))
        .filter(when)
        .order_by_asc(short_term_messages::Column::CreatedAt)
        .order_by_asc(short_term_messages::Column::MessageId)
        .all(db)
        .await?
        .into_iter()
        .map(from_short)
        .collect())
}

/// Short-term messages since `since`, in one server or (`None`) everywhere.
pub async fn count_messages_since<C: ConnectionTrait>(
    db: &C,
    guild: Option<GuildId>,
    since: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut q = short_term_messages::Entity::find()
        .filter(short_term_messages::Column::CreatedAt.gte(ts(since)));
    if let Some(g) = guild {
        q = q.filter(short_term_messages::Column::GuildId.eq(g.as_i64()));
    }
    Ok(q.count(db).await?)
}

/// Distinct human authors with short-term messages older than `cutoff`, per server
/// (consolidation's work list: a member's profile in a server is built from that server's
/// messages only).
pub async fn short_term_authors_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
) -> StoreResult<Vec<ServerMember>> {
    let rows: Vec<(Option<i64>, i64)> = short_term_messages::Entity::find()
        .select_only()
        .column(short_term_messages::Column::GuildId)
        .column(short_term_messages::Column::AuthorId)
        .distinct()
        .filter(short_term_messages::Column::CreatedAt.lt(ts(cutoff)))
        .filter(short_term_messages::Column::IsBot.eq(false))
        .order_by_asc(short_term_messages::Column::GuildId)
        .order_by_asc(short_term_messages::Column::AuthorId)
        .into_tuple()
        .all(db)
        .await?;
    let mut members: Vec<ServerMember> = rows
        .into_iter()
        .map(|(guild, user)| ServerMember::of(guild.map(GuildId::from_i64), UserId::from_i64(user)))
        .collect();
    members.sort();
    members.dedup();
    Ok(members)
}

/// Messages written in the member's scope: that server, or direct messages.
pub(super) fn in_scope(member: ServerMember) -> Condition {
    let column = short_term_messages::Column::GuildId;
    Condition::all()
        .add(short_term_messages::Column::AuthorId.eq(member.user.as_i64()))
        .add(match member.guild.as_server() {
            Some(guild) => column.eq(guild.as_i64()),
            None => column.is_null(),
        })
}

/// A member's short-term messages in one server older than `cutoff`, oldest first.
pub async fn short_term_of_member_before<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    cutoff: DateTime<Utc>,
) -> StoreResult<Vec<LoggedMessage>> {
    Ok(short_term_messages::Entity::find()
        .filter(in_scope(member))
        .filter(short_term_messages::Column::CreatedAt.lt(ts(cutoff)))
        .order_by_asc(short_term_messages::Column::CreatedAt)
        .order_by_asc(short_term_messages::Column::MessageId)
        .all(db)
        .await?
        .into_iter()
        .map(from_short)
        .collect())
}

/// Whose messages a short-term query returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authors {
    Anyone,
    /// Bots only: no member's consolidation takes their messages, so the nightly run
    /// archives them on their own.
    Bots,
}

/// Short-term messages older than `cutoff`, oldest first, at most `limit` (for an age cap:
/// bot messages and messages nobody consolidated still have to leave the short-term log).
pub async fn short_term_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
    authors: Authors,
) -> StoreResult<Vec<LoggedMessage>> {
    let mut query = short_term_messages::Entity::find()
        .filter(short_term_messages::Column::CreatedAt.lt(ts(cutoff)));
    if authors == Authors::Bots {
        query = query.filter(short_term_messages::Column::IsBot.eq(true));
    }
    Ok(query
        .order_by_asc(short_term_messages::Column::CreatedAt)
        .order_by_asc(short_term_messages::Column::MessageId)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(from_short)
        .collect())
}

impl Store {
    pub async fn append_messages(&self, msgs: &[LoggedMessage]) -> StoreResult<u64> {
        append_messages(&self.writer, msgs).await
    }

    pub async fn recent_messages(
        &self,
        channel: ChannelId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<LoggedMessage>> {
        recent_messages(&self.reader, channel, since, limit).await
    }

    pub async fn count_messages_since(
        &self,
        guild: Option<GuildId>,
        since: DateTime<Utc>,
    ) -> StoreResult<u64> {
        count_messages_since(&self.reader, guild, since).await
    }
}
