//! Relationship metrics and their change log. Values are validated by the domain type before
//! anything is written, and a metric change and its event always commit together.

use chrono::{DateTime, Utc};
use entity::{relationship_events, relationships};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionSession, TransactionTrait,
};

use super::{StoreError, StoreResult, ts, valid_text};
use crate::domain::relationship::checked;
use crate::domain::{
    GuildId, Metric, Relationship, RelationshipChange, RelationshipEvent, ServerMember, UserId,
};

/// Longest reason accepted for a change.
pub const MAX_REASON_CHARS: usize = 500;

/// The member's metrics, or neutral values if the bot never judged them.
pub async fn relationship<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
) -> StoreResult<Relationship> {
    Ok(stored_relationship(db, member).await?.unwrap_or_default())
}

/// The stored metrics, `None` when there is no row.
pub async fn stored_relationship<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
) -> StoreResult<Option<Relationship>> {
    let Some(m) = relationships::Entity::find_by_id((member.guild.as_i64(), member.user.as_i64()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(row_metrics(&m)?))
}

fn row_metrics(m: &relationships::Model) -> StoreResult<Relationship> {
    Ok(Relationship::new(
        i64::from(m.anger),
        i64::from(m.rapport),
        i64::from(m.trust),
        i64::from(m.formality),
    )?)
}

async fn write_row<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    r: &Relationship,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    relationships::Entity::insert(relationships::ActiveModel {
        guild_id: Set(member.guild.as_i64()),
        user_id: Set(member.user.as_i64()),
        anger: Set(r.get(Metric::Anger)),
        rapport: Set(r.get(Metric::Rapport)),
        trust: Set(r.get(Metric::Trust)),
        formality: Set(r.get(Metric::Formality)),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            relationships::Column::GuildId,
            relationships::Column::UserId,
        ])
        .update_columns([
            relationships::Column::Anger,
            relationships::Column::Rapport,
            relationships::Column::Trust,
            relationships::Column::Formality,
            relationships::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

async fn write_events<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    changes: &[(RelationshipChange, String)],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    relationship_events::Entity::insert_many(changes.iter().map(|(c, reason)| {
        relationship_events::ActiveModel {
            guild_id: Set(member.guild.as_i64()),
            user_id: Set(member.user.as_i64()),
            metric: Set(c.metric.name().to_owned()),
            old_value: Set(c.old_value),
            new_value: Set(c.new_value),
            reason: Set(reason.clone()),
            created_at: Set(now),
            ..Default::default()
        }
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Sets one metric (an admin command), logging the change. Out-of-range values are refused
/// with [`StoreError::Relationship`] before anything is written.
pub async fn set_metric<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    member: ServerMember,
    metric: Metric,
    value: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<RelationshipChange> {
    checked(metric, value)?;
    let reason = valid_text("reason", reason, MAX_REASON_CHARS)?;
    let now = ts(now);
    let txn = db.begin().await?;
    let current = relationship(&txn, member).await?;
    let next = current.with(metric, value)?;
    let change = RelationshipChange {
        metric,
        old_value: current.get(metric),
        new_value: next.get(metric),
        reason: reason.clone(),
    };
    write_row(&txn, member, &next, now).await?;
    write_events(&txn, member, &[(change.clone(), reason)], now).await?;
    txn.commit().await?;
    Ok(change)
}

/// Saves the metrics after an exchange together with the changes that led there.
pub async fn save_relationship<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    member: ServerMember,
    new: Relationship,
    changes: &[RelationshipChange],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut events = Vec::with_capacity(changes.len());
    for c in changes {
        // Changes come from domain code; still refuse values no row could hold.
        checked(c.metric, i64::from(c.old_value))?;
        checked(c.metric, i64::from(c.new_value))?;
        events.push((
            c.clone(),
            valid_text("reason", &c.reason, MAX_REASON_CHARS)?,
        ));
    }
    let now = ts(now);
    let txn = db.begin().await?;
    write_row(&txn, member, &new, now).await?;
    write_events(&txn, member, &events, now).await?;
    txn.commit().await?;
    Ok(())
}

/// The member's newest `limit` changes in that server, newest first.
pub async fn relationship_events<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    limit: u64,
) -> StoreResult<Vec<RelationshipEvent>> {
    let rows = relationship_events::Entity::find()
        .filter(relationship_events::Column::GuildId.eq(member.guild.as_i64()))
        .filter(relationship_events::Column::UserId.eq(member.user.as_i64()))
        .order_by_desc(relationship_events::Column::CreatedAt)
        .order_by_desc(relationship_events::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    rows.into_iter().map(event).collect()
}

fn event(m: relationship_events::Model) -> StoreResult<RelationshipEvent> {
    let metric = m.metric.parse::<Metric>().map_err(|_| {
        StoreError::Corrupt(format!(
            "relationship event {}: metric `{}`",
            m.id, m.metric
        ))
    })?;
    Ok(RelationshipEvent {
        id: m.id,
        guild_id: GuildId::from_i64(m.guild_id),
        user_id: UserId::from_i64(m.user_id),
        change: RelationshipChange {
            metric,
            old_value: m.old_value,
            new_value: m.new_value,
            reason: m.reason,
        },
        created_at: m.created_at,
    })
}

/// Deletes the member's metrics and change log in every server. Returns rows removed.
pub async fn delete_relationship<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<u64> {
    let a = relationships::Entity::delete_many()
        .filter(relationships::Column::UserId.eq(user.as_i64()))
        .exec(db)
        .await?;
    let b = relationship_events::Entity::delete_many()
        .filter(relationship_events::Column::UserId.eq(user.as_i64()))
        .exec(db)
        .await?;
    Ok(a.rows_affected + b.rows_affected)
}

/// Every change logged about the member, in every server (their own export), newest first.
pub async fn relationship_events_of_user<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<Vec<RelationshipEvent>> {
    let rows = relationship_events::Entity::find()
        .filter(relationship_events::Column::UserId.eq(user.as_i64()))
        .order_by_desc(relationship_events::Column::CreatedAt)
        .order_by_desc(relationship_events::Column::Id)
        .all(db)
        .await?;
    rows.into_iter().map(event).collect()
}

/// The member's metrics in every server where the bot judged them.
pub async fn relationships_of_user<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<Vec<(GuildId, Relationship)>> {
    let rows = relationships::Entity::find()
        .filter(relationships::Column::UserId.eq(user.as_i64()))
        .order_by_asc(relationships::Column::GuildId)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|m| Ok((GuildId::from_i64(m.guild_id), row_metrics(&m)?)))
        .collect()
}
