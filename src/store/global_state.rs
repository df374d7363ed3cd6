//! Small named values: bot-wide ones (the daily mood `daily_mood_*`, the generated status line,
//! the base persona's name) and each server's own keys. Keys are validated so typos in admin
//! commands cannot create junk rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::global_state;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder, TransactionSession,
    TransactionTrait,
};

use super::{StoreError, StoreResult, ts};
use crate::domain::StateScope;
use crate::domain::mood::{MOOD_DAY_KEY, STATUS_DAY_KEY, STATUS_KEY};
use sea_orm::{ColumnTrait, QueryFilter};

/// Prefix of the keys that make up the bot's mood.
pub const MOOD_PREFIX: &str = "daily_mood_";
/// Longest status text accepted.
pub const MAX_TEXT_CHARS: usize = 1000;

/// Keys are 1..=64 characters of `[a-z0-9_]`.
pub fn valid_key(key: &str) -> StoreResult<()> {
    let ok = (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "`{key}` is not a valid key (1 to 64 of a-z, 0-9, _)"
        )))
    }
}

pub async fn global_get<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
    key: &str,
) -> StoreResult<Option<i64>> {
    valid_key(key)?;
    Ok(
        global_state::Entity::find_by_id((scope.as_i64(), key.to_owned()))
            .one(db)
            .await?
            .map(|m| m.value),
    )
}

pub async fn global_text<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
    key: &str,
) -> StoreResult<Option<String>> {
    valid_key(key)?;
    Ok(
        global_state::Entity::find_by_id((scope.as_i64(), key.to_owned()))
            .one(db)
            .await?
            .and_then(|m| m.text_value),
    )
}

/// Sets the number, keeping any text.
pub async fn global_set<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
    key: &str,
    value: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    valid_key(key)?;
    global_state::Entity::insert(global_state::ActiveModel {
        guild_id: Set(scope.as_i64()),
        key: Set(key.to_owned()),
        value: Set(value),
        text_value: Set(None),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::columns([global_state::Column::GuildId, global_state::Column::Key])
            .update_columns([global_state::Column::Value, global_state::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Sets the text, keeping the number (0 for a new key).
pub async fn global_set_text<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
    key: &str,
    text: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    valid_key(key)?;
    let len = text.chars().count();
    if len > MAX_TEXT_CHARS {
        return Err(StoreError::Invalid(format!(
            "text is {len} characters long; the limit is {MAX_TEXT_CHARS}"
        )));
    }
    global_state::Entity::insert(global_state::ActiveModel {
        guild_id: Set(scope.as_i64()),
        key: Set(key.to_owned()),
        value: Set(0),
        text_value: Set(Some(text.to_owned())),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::columns([global_state::Column::GuildId, global_state::Column::Key])
            .update_columns([
                global_state::Column::TextValue,
                global_state::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Deletes a key; `false` when there was none.
pub async fn global_delete<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
    key: &str,
) -> StoreResult<bool> {
    valid_key(key)?;
    let r = global_state::Entity::delete_by_id((scope.as_i64(), key.to_owned()))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

/// Adds `delta` to a counter (creating it at `delta`) and returns the new value.
pub async fn global_add<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    scope: StateScope,
    key: &str,
    delta: i64,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    valid_key(key)?;
    let txn = db.begin().await?;
    global_state::Entity::insert(global_state::ActiveModel {
        guild_id: Set(scope.as_i64()),
        key: Set(key.to_owned()),
        value: Set(delta),
        text_value: Set(None),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::columns([global_state::Column::GuildId, global_state::Column::Key])
            .value(
                global_state::Column::Value,
                Expr::col((global_state::Entity, global_state::Column::Value)).add(delta),
            )
            .update_column(global_state::Column::UpdatedAt)
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let value = global_state::Entity::find_by_id((scope.as_i64(), key.to_owned()))
        .one(&txn)
        .await?
        .map(|m| m.value)
        .ok_or_else(|| StoreError::Corrupt(format!("counter `{key}` vanished after its upsert")))?;
    txn.commit().await?;
    Ok(value)
}

/// Every key of the scope with its number and text, by key.
pub async fn global_list<C: ConnectionTrait>(
    db: &C,
    scope: StateScope,
) -> StoreResult<Vec<(String, i64, Option<String>)>> {
    Ok(global_state::Entity::find()
        .filter(global_state::Column::GuildId.eq(scope.as_i64()))
        .order_by_asc(global_state::Column::Key)
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.key, m.value, m.text_value))
        .collect())
}

/// The mood dimensions: the `daily_mood_*` keys, named as stored (the same keys
/// `domain::mood::Mood` reads and writes back).
pub async fn mood<C: ConnectionTrait>(db: &C) -> StoreResult<BTreeMap<String, i64>> {
    // The table holds a handful of rows; filtering here avoids LIKE, where `_` is a wildcard.
    Ok(global_list(db, StateScope::BotWide)
        .await?
        .into_iter()
        .filter(|(k, _, _)| k.starts_with(MOOD_PREFIX))
        .map(|(k, v, _)| (k, v))
        .collect())
}

/// Sets the bot-wide `key` to `day` unless it already says `day`, in one statement; true
/// for the one caller that changed it. Two processes claiming the same day at the same
/// moment cannot both win: on PostgreSQL the second waits for the first's row lock and then
/// finds the day already set.
async fn claim_day<C: ConnectionTrait>(
    db: &C,
    key: &str,
    day: i64,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    valid_key(key)?;
    let rows = global_state::Entity::insert(global_state::ActiveModel {
        guild_id: Set(StateScope::BotWide.as_i64()),
        key: Set(key.to_owned()),
        value: Set(day),
        text_value: Set(None),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::columns([global_state::Column::GuildId, global_state::Column::Key])
            .update_columns([global_state::Column::Value, global_state::Column::UpdatedAt])
            .action_and_where(
                Expr::col((global_state::Entity, global_state::Column::Value)).ne(day),
            )
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(rows == 1)
}

/// Writes the day's mood values and the day marker in one transaction (a crash between them
/// would roll the dice a second time on the rerun), unless the day was already rolled, by
/// this process or another: then nothing changes and it returns false.
pub async fn roll_mood<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    values: &[(String, i64)],
    day: i64,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let tx = db.begin().await?;
    if !claim_day(&tx, MOOD_DAY_KEY, day, now).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    for (key, value) in values {
        global_set(&tx, StateScope::BotWide, key, *value, now).await?;
    }
    super::console::record_mood_day(&tx, day, values, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The status line; `day` Some marks the day's status done, in the same transaction.
pub async fn set_status_line<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    text: &str,
    day: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let tx = db.begin().await?;
    global_set_text(&tx, StateScope::BotWide, STATUS_KEY, text, now).await?;
    if let Some(day) = day {
        global_set(&tx, StateScope::BotWide, STATUS_DAY_KEY, day, now).await?;
    }
    tx.commit().await?;
    Ok(())
}
