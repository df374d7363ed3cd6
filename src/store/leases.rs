//! Leases (`leases`): one row per piece of work that must happen once across processes,
//! held by one process (its instance id) until released or expired.
//!
//! Taking a lease is one `INSERT .. ON CONFLICT DO UPDATE .. WHERE` statement, so two
//! processes racing for it cannot both win on either backend: the row is taken only when
//! it is free, expired, or already ours (which renews it). Expiry is compared with the
//! caller's clock; the processes of one bot share a host clock or NTP, and the lease time
//! (tens of seconds) dwarfs any skew between them.

use chrono::{DateTime, Utc};
use entity::leases;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{StoreError, StoreResult, ts};

/// Longest lease name and holder accepted (the columns' size).
const MAX_NAME: usize = 100;

fn check(what: &str, value: &str) -> StoreResult<()> {
    if value.is_empty() || value.len() > MAX_NAME {
        return Err(StoreError::Invalid(format!(
            "a lease {what} must be 1 to {MAX_NAME} bytes"
        )));
    }
    Ok(())
}

/// Takes (or renews) `name` for `holder` until `until`; true when `holder` holds it now.
pub async fn acquire<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    check("name", name)?;
    check("holder", holder)?;
    let excluded = |col: leases::Column| Expr::col((Alias::new("excluded"), col));
    let existing = |col: leases::Column| Expr::col((leases::Entity, col));
    let mut conflict = OnConflict::column(leases::Column::Name);
    conflict
        .update_columns([leases::Column::Holder, leases::Column::ExpiresAt])
        // A renewal keeps when it was first taken; a takeover starts afresh.
        .value(
            leases::Column::AcquiredAt,
            Expr::case(
                existing(leases::Column::Holder).eq(excluded(leases::Column::Holder)),
                existing(leases::Column::AcquiredAt),
            )
            .finally(excluded(leases::Column::AcquiredAt)),
        )
        .action_and_where(
            existing(leases::Column::ExpiresAt)
                .lt(ts(now))
                .or(existing(leases::Column::Holder).eq(excluded(leases::Column::Holder))),
        );
    let rows = leases::Entity::insert(leases::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(holder.to_owned()),
        expires_at: Set(ts(until)),
        acquired_at: Set(ts(now)),
    })
    .on_conflict(conflict.to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(rows == 1)
}

/// Gives `name` up if `holder` holds it; true when it did.
pub async fn release<C: ConnectionTrait>(db: &C, name: &str, holder: &str) -> StoreResult<bool> {
    let result = leases::Entity::delete_many()
        .filter(leases::Column::Name.eq(name))
        .filter(leases::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Who holds `name` and until when (expired rows included: a killed holder's lease).
pub async fn holder<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> StoreResult<Option<(String, DateTime<Utc>)>> {
    Ok(leases::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .map(|m| (m.holder, m.expires_at)))
}
