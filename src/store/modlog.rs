//! The moderation log: cases numbered per server, and temporary bans that must be lifted even
//! if the bot restarted in between.

use chrono::{DateTime, Utc};
use entity::{guild_settings, modlog_cases};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionSession, TransactionTrait,
};

use super::{StoreError, StoreResult, is_unique_violation, ts, valid_text};
use crate::domain::lifting::LiftState;
use crate::domain::{ChannelId, GuildId, ModAction, ModCase, UserId};

/// Longest moderation reason accepted (Discord's audit-log reason limit is 512).
pub const MAX_REASON_CHARS: usize = 512;

fn to_domain(m: modlog_cases::Model) -> StoreResult<ModCase> {
    Ok(ModCase {
        id: m.id,
        guild_id: GuildId::from_i64(m.guild_id),
        case_number: m.case_number,
        action: m.action.parse()?,
        target_id: UserId::from_i64(m.target_id),
        moderator_id: UserId::from_i64(m.moderator_id),
        reason: m.reason,
        created_at: m.created_at,
        expires_at: m.expires_at,
        lifted_at: m.lifted_at,
        lift: LiftState {
            failures: u32::try_from(m.lift_failures).unwrap_or(0),
            retry_at: m.lift_retry_at,
            given_up_at: m.lift_given_up_at,
        },
    })
}

/// Records a case under the server's next case number (max + 1, in one transaction; retried
/// if a concurrent writer on PostgreSQL took the same number).
#[allow(clippy::too_many_arguments)]
pub async fn add_case<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    guild: GuildId,
    action: ModAction,
    target: UserId,
    moderator: UserId,
    reason: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<ModCase> {
    let reason = reason
        .map(|r| valid_text("reason", r, MAX_REASON_CHARS))
        .transpose()?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let txn = db.begin().await?;
        let max: Option<i32> = modlog_cases::Entity::find()
            .select_only()
            .column_as(modlog_cases::Column::CaseNumber.max(), "max_case")
            .filter(modlog_cases::Column::GuildId.eq(guild.as_i64()))
            .into_tuple()
            .one(&txn)
            .await?
            .flatten();
        let inserted = modlog_cases::ActiveModel {
            guild_id: Set(guild.as_i64()),
            case_number: Set(max.unwrap_or(0).saturating_add(1)),
            action: Set(action.as_str().to_owned()),
            target_id: Set(target.as_i64()),
            moderator_id: Set(moderator.as_i64()),
            reason: Set(reason.clone()),
            created_at: Set(ts(now)),
            expires_at: Set(expires_at.map(ts)),
            lifted_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        match inserted {
            Ok(row) => {
                txn.commit().await?;
                return to_domain(row);
            }
            Err(e) if attempt < 5 && is_unique_violation(&e) => {
                txn.rollback().await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Every case about `target` in the server, oldest first.
pub async fn cases_for<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    target: UserId,
) -> StoreResult<Vec<ModCase>> {
    modlog_cases::Entity::find()
        .filter(modlog_cases::Column::GuildId.eq(guild.as_i64()))
        .filter(modlog_cases::Column::TargetId.eq(target.as_i64()))
        .order_by_asc(modlog_cases::Column::CaseNumber)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Temporary bans whose time is up, not lifted, not given up and not backing off after a
/// failure, oldest expiry first.
pub async fn due_temporary_bans<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> StoreResult<Vec<ModCase>> {
    modlog_cases::Entity::find()
        .filter(modlog_cases::Column::Action.eq(ModAction::Ban.as_str()))
        .filter(modlog_cases::Column::ExpiresAt.lte(ts(now)))
        .filter(modlog_cases::Column::LiftedAt.is_null())
        .filter(modlog_cases::Column::LiftGivenUpAt.is_null())
        .filter(
            Condition::any()
                .add(modlog_cases::Column::LiftRetryAt.is_null())
                .add(modlog_cases::Column::LiftRetryAt.lte(ts(now))),
        )
        .order_by_asc(modlog_cases::Column::ExpiresAt)
        .order_by_asc(modlog_cases::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Marks a temporary ban as lifted (by case id). Lifting twice keeps the first time.
pub async fn mark_case_lifted<C: ConnectionTrait>(
    db: &C,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let exists = modlog_cases::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound {
            what: "moderation case",
            id,
        });
    }
    modlog_cases::Entity::update_many()
        .col_expr(modlog_cases::Column::LiftedAt, Expr::value(Some(ts(now))))
        .filter(modlog_cases::Column::Id.eq(id))
        .filter(modlog_cases::Column::LiftedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Stores how lifting these temporary bans went (all pending; a lifted case is left as is).
pub async fn set_lift_state<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
    state: LiftState,
) -> StoreResult<()> {
    for chunk in super::batches(ids) {
        modlog_cases::Entity::update_many()
            .col_expr(
                modlog_cases::Column::LiftFailures,
                Expr::value(i32::try_from(state.failures).unwrap_or(i32::MAX)),
            )
            .col_expr(
                modlog_cases::Column::LiftRetryAt,
                Expr::value(state.retry_at.map(ts)),
            )
            .col_expr(
                modlog_cases::Column::LiftGivenUpAt,
                Expr::value(state.given_up_at.map(ts)),
            )
            .filter(modlog_cases::Column::Id.is_in(chunk.iter().copied()))
            .filter(modlog_cases::Column::LiftedAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The server's log channel, where the bot reports what it could not do.
pub async fn log_channel<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
) -> StoreResult<Option<ChannelId>> {
    Ok(guild_settings::Entity::find_by_id(guild.as_i64())
        .one(db)
        .await?
        .and_then(|row| row.log_channel_id)
        .map(ChannelId::from_i64))
}

/// Sets the server's log channel (`None`: no log channel).
pub async fn set_log_channel<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    channel: Option<ChannelId>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    super::settings::upsert_guild(db, guild, now, |row| {
        row.log_channel_id = Set(channel.map(ChannelId::as_i64));
    })
    .await
}
