//! Model tokens spent per day and scope (`token_usage`), read and added by the budget gate
//! and shown by `/bot status`.

use chrono::{DateTime, Utc};
use entity::token_usage;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionSession, TransactionTrait,
};

use super::{StoreResult, ts};
use crate::domain::budget::TokenUsage;
use crate::domain::spend::{DayUsage, ScopeSpend, SpendScope};
use crate::domain::{GuildId, UserId};

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn of_row(row: &token_usage::Model) -> ScopeSpend {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    ScopeSpend {
        usage: TokenUsage {
            prompt: n(row.prompt_tokens),
            completion: n(row.completion_tokens),
            cached: n(row.cached_tokens),
            requests: n(row.requests),
        },
        noticed: row.noticed,
    }
}

fn matches(scope: SpendScope) -> sea_orm::Condition {
    let (guild, user) = scope.key();
    sea_orm::Condition::all()
        .add(token_usage::Column::Scope.eq(scope.kind()))
        .add(token_usage::Column::GuildId.eq(guild.as_i64()))
        .add(token_usage::Column::UserId.eq(user.as_i64()))
}

/// Today's spend of each scope that spent anything (scopes without a row spent nothing).
pub async fn spend_on<C: ConnectionTrait>(
    db: &C,
    day: &str,
    scopes: &[SpendScope],
) -> StoreResult<Vec<(SpendScope, ScopeSpend)>> {
    let mut any = sea_orm::Condition::any();
    for scope in scopes {
        any = any.add(matches(*scope));
    }
    let rows = token_usage::Entity::find()
        .filter(token_usage::Column::Day.eq(day))
        .filter(any)
        .all(db)
        .await?;
    Ok(scopes
        .iter()
        .filter_map(|scope| {
            let (guild, user) = scope.key();
            rows.iter()
                .find(|r| {
                    r.scope == scope.kind()
                        && r.guild_id == guild.as_i64()
                        && r.user_id == user.as_i64()
                })
                .map(|r| (*scope, of_row(r)))
        })
        .collect())
}

/// Adds one call's usage to each scope, creating today's rows as needed.
pub async fn add_spend<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    day: &str,
    scopes: &[SpendScope],
    usage: TokenUsage,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let txn = db.begin().await?;
    for scope in scopes {
        let (guild, user) = scope.key();
        let add = |col: token_usage::Column, by: u64| {
            (col, Expr::col((token_usage::Entity, col)).add(clamp(by)))
        };
        let mut conflict = OnConflict::columns([
            token_usage::Column::Day,
            token_usage::Column::Scope,
            token_usage::Column::GuildId,
            token_usage::Column::UserId,
        ]);
        for (col, expr) in [
            add(token_usage::Column::PromptTokens, usage.prompt),
            add(token_usage::Column::CompletionTokens, usage.completion),
            add(token_usage::Column::CachedTokens, usage.cached),
            add(token_usage::Column::Requests, usage.requests),
        ] {
            conflict.value(col, expr);
        }
        conflict.update_column(token_usage::Column::UpdatedAt);
        token_usage::Entity::insert(token_usage::ActiveModel {
            day: Set(day.to_owned()),
            scope: Set(scope.kind().to_owned()),
            guild_id: Set(guild.as_i64()),
            user_id: Set(user.as_i64()),
            prompt_tokens: Set(clamp(usage.prompt)),
            completion_tokens: Set(clamp(usage.completion)),
            cached_tokens: Set(clamp(usage.cached)),
            requests: Set(clamp(usage.requests)),
            noticed: Set(false),
            updated_at: Set(ts(now)),
        })
        .on_conflict(conflict.to_owned())
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Marks the scope's spent budget as announced; true only for the one caller that did
/// (so the bot says it once however many channels ask at the same moment).
pub async fn claim_notice<C: ConnectionTrait>(
    db: &C,
    day: &str,
    scope: SpendScope,
) -> StoreResult<bool> {
    let result = token_usage::Entity::update_many()
        .col_expr(token_usage::Column::Noticed, Expr::value(true))
        .filter(token_usage::Column::Day.eq(day))
        .filter(matches(scope))
        .filter(token_usage::Column::Noticed.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A member's usage rows in every server, oldest day first (their data export).
pub async fn usage_of_user<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<Vec<(GuildId, DayUsage)>> {
    let rows = token_usage::Entity::find()
        .filter(token_usage::Column::Scope.eq("member"))
        .filter(token_usage::Column::UserId.eq(user.as_i64()))
        .order_by_asc(token_usage::Column::Day)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let spend = of_row(row);
            let usage = DayUsage {
                day: row.day.clone(),
                prompt_tokens: spend.usage.prompt,
                completion_tokens: spend.usage.completion,
                requests: spend.usage.requests,
            };
            (GuildId::from_i64(row.guild_id), usage)
        })
        .collect())
}

/// Deletes a member's usage rows in every server (their erasure).
pub async fn delete_user_spend<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<u64> {
    Ok(token_usage::Entity::delete_many()
        .filter(token_usage::Column::Scope.eq("member"))
        .filter(token_usage::Column::UserId.eq(user.as_i64()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes usage rows of days before `day` (they only matter on their own day).
pub async fn purge_spend_before<C: ConnectionTrait>(db: &C, day: &str) -> StoreResult<u64> {
    Ok(token_usage::Entity::delete_many()
        .filter(token_usage::Column::Day.lt(day))
        .exec(db)
        .await?
        .rows_affected)
}

/// The day's spend of the bot and of one server.
pub async fn server_spend<C: ConnectionTrait>(
    db: &C,
    day: &str,
    guild: GuildId,
) -> StoreResult<(ScopeSpend, ScopeSpend)> {
    let scopes = [SpendScope::Global, SpendScope::Server(guild)];
    let spent = spend_on(db, day, &scopes).await?;
    let of = |scope| {
        spent
            .iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    };
    Ok((of(scopes[0]), of(scopes[1])))
}
