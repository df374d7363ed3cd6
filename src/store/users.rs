//! Members the bot has seen and the names they went by, so it can tell who "Sam" was last
//! month and answer data-export requests completely.

use chrono::{DateTime, Utc};
use entity::{user_names, users};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::{StoreResult, ts, valid_text};
use crate::domain::{GuildId, KnownName, ServerMember, UserId, UserRecord};
use crate::ports::store::{MemberSighting, MemorySwitches};

/// Longest name accepted (Discord's own limit is 32; this leaves room for odd clients).
pub const MAX_NAME_CHARS: usize = 100;

/// Inserts the member or refreshes username, bot flag and last-seen time.
pub async fn upsert_user<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    username: &str,
    is_bot: bool,
    seen_at: DateTime<Utc>,
) -> StoreResult<()> {
    let username = valid_text("username", username, MAX_NAME_CHARS)?;
    let seen_at = ts(seen_at);
    users::Entity::insert(users::ActiveModel {
        id: Set(user.as_i64()),
        username: Set(username),
        is_bot: Set(is_bot),
        memory_off: Set(false),
        first_seen_at: Set(seen_at),
        last_seen_at: Set(seen_at),
    })
    .on_conflict(
        OnConflict::column(users::Column::Id)
            .update_columns([
                users::Column::Username,
                users::Column::IsBot,
                users::Column::LastSeenAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The `users` row, if the member was ever seen.
pub async fn user<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<Option<UserRecord>> {
    Ok(users::Entity::find_by_id(user.as_i64())
        .one(db)
        .await?
        .map(|m| UserRecord {
            id: UserId::from_i64(m.id),
            username: m.username,
            is_bot: m.is_bot,
            memory_off: m.memory_off,
            first_seen_at: m.first_seen_at,
            last_seen_at: m.last_seen_at,
        }))
}

/// Records that the member was seen under `name` (`guild` None: their global name). Creates a
/// minimal `users` row first if needed (the name doubles as username until `upsert_user`).
pub async fn record_name<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    guild: Option<GuildId>,
    name: &str,
    seen_at: DateTime<Utc>,
) -> StoreResult<()> {
    let name = valid_text("name", name, MAX_NAME_CHARS)?;
    let seen_at = ts(seen_at);
    users::Entity::insert(users::ActiveModel {
        id: Set(user.as_i64()),
        username: Set(name.clone()),
        is_bot: Set(false),
        memory_off: Set(false),
        first_seen_at: Set(seen_at),
        last_seen_at: Set(seen_at),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    user_names::Entity::insert(user_names::ActiveModel {
        user_id: Set(user.as_i64()),
        guild_id: Set(guild.map_or(0, GuildId::as_i64)),
        name: Set(name),
        first_seen_at: Set(seen_at),
        last_seen_at: Set(seen_at),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            user_names::Column::UserId,
            user_names::Column::GuildId,
            user_names::Column::Name,
        ])
        .update_column(user_names::Column::LastSeenAt)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Every name seen for the member, most recently seen first.
pub async fn known_names<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<Vec<KnownName>> {
    names(db, user, None).await
}

/// The names one server may see: the member's global names and that server's nicknames.
pub async fn known_names_in<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    guild: GuildId,
) -> StoreResult<Vec<KnownName>> {
    names(db, user, Some(guild)).await
}

async fn names<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    guild: Option<GuildId>,
) -> StoreResult<Vec<KnownName>> {
    let mut q = user_names::Entity::find().filter(user_names::Column::UserId.eq(user.as_i64()));
    if let Some(guild) = guild {
        q = q.filter(user_names::Column::GuildId.is_in([0, guild.as_i64()]));
    }
    Ok(q.order_by_desc(user_names::Column::LastSeenAt)
        .order_by_asc(user_names::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| KnownName {
            guild_id: (m.guild_id != 0).then(|| GuildId::from_i64(m.guild_id)),
            name: m.name,
            first_seen_at: m.first_seen_at,
            last_seen_at: m.last_seen_at,
        })
        .collect())
}

/// Turns the member's memory off (`/memory off`) or back on, in every server. Creates the
/// row if the member was never seen, so the choice holds from their first message.
pub async fn set_memory_off<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    username: &str,
    off: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let username = valid_text("username", username, MAX_NAME_CHARS)?;
    let now = ts(now);
    users::Entity::insert(users::ActiveModel {
        id: Set(user.as_i64()),
        username: Set(username),
        is_bot: Set(false),
        memory_off: Set(off),
        first_seen_at: Set(now),
        last_seen_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(users::Column::Id)
            .update_column(users::Column::MemoryOff)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Members who turned their memory off.
pub async fn memory_off_users<C: ConnectionTrait>(db: &C) -> StoreResult<Vec<UserId>> {
    Ok(users::Entity::find()
        .filter(users::Column::MemoryOff.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|m| UserId::from_i64(m.id))
        .collect())
}

/// Removes the member's row and (by cascade) their name history.
pub async fn delete_user<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<u64> {
    // Names are deleted explicitly too: the cascade needs `foreign_keys=ON`, which a
    // connection opened outside `Store::connect` may lack.
    let names = user_names::Entity::delete_many()
        .filter(user_names::Column::UserId.eq(user.as_i64()))
        .exec(db)
        .await?;
    let users = users::Entity::delete_by_id(user.as_i64()).exec(db).await?;
    Ok(names.rows_affected + users.rows_affected)
}

/// Keeps the users table and nickname history current for a member seen in chat.
pub async fn record_sighting<C: ConnectionTrait>(db: &C, seen: &MemberSighting) -> StoreResult<()> {
    upsert_user(db, seen.user, &seen.username, seen.is_bot, seen.seen_at).await?;
    record_name(db, seen.user, None, &seen.username, seen.seen_at).await?;
    if let Some(name) = seen.display_name.as_deref().filter(|n| *n != seen.username) {
        record_name(db, seen.user, seen.guild, name, seen.seen_at).await?;
    }
    Ok(())
}

/// Members and servers that turned memory off.
pub async fn memory_switches<C: ConnectionTrait>(db: &C) -> StoreResult<MemorySwitches> {
    Ok(MemorySwitches {
        users_off: memory_off_users(db).await?,
        servers_off: super::settings::memory_off_guilds(db).await?,
    })
}

/// Whether the member's messages in that server may be remembered.
pub async fn remembers<C: ConnectionTrait>(db: &C, member: ServerMember) -> StoreResult<bool> {
    let user_off = user(db, member.user).await?.is_some_and(|u| u.memory_off);
    if user_off {
        return Ok(false);
    }
    let Some(guild) = member.guild.as_server() else {
        return Ok(true);
    };
    Ok(entity::guild_settings::Entity::find_by_id(guild.as_i64())
        .one(db)
        .await?
        .is_none_or(|g| g.memory_enabled))
}
