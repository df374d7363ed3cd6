//! Reads only the web console needs: which servers the bot knows, who it knows in one,
//! a server's switches, the latest consolidation run, when messages were written and the
//! mood of past days (kept by `record_mood_day` when a day's mood is rolled). Changes from
//! the console go through the same store functions as the slash commands.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::{
    archived_messages, channel_settings, consolidation_runs, guild_settings, memory_facts,
    mood_history, persona_entries, relationships, short_term_messages, user_names, users,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{StoreResult, ts};
use crate::domain::{
    ChannelId, ChannelSwitch, GuildId, MemberSummary, MessageStamp, MoodPoint, RunStats,
    RunSummary, ServerSwitches, UserId,
};

/// Most members one console page lists.
pub const MAX_MEMBERS: usize = 200;
/// Most message stamps one chart reads.
const MAX_STAMPS: u64 = 100_000;

/// The distinct values of one id column of `E`, NULLs left out; with `in_guild`, only rows
/// of that server (its server column and id).
async fn distinct_ids<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    column: E::Column,
    in_guild: Option<(E::Column, i64)>,
) -> StoreResult<Vec<i64>> {
    let mut query = E::find().select_only().column(column).distinct();
    if let Some((guild_column, guild)) = in_guild {
        query = query.filter(guild_column.eq(guild));
    }
    let values: Vec<Option<i64>> = query.into_tuple().all(db).await?;
    Ok(values.into_iter().flatten().collect())
}

/// Servers anything is stored about: messages, facts, settings or a persona layer.
pub async fn known_servers<C: ConnectionTrait>(db: &C) -> StoreResult<Vec<GuildId>> {
    use short_term_messages::Column as Short;
    let mut ids = BTreeSet::new();
    ids.extend(distinct_ids::<short_term_messages::Entity, _>(db, Short::GuildId, None).await?);
    ids.extend(
        distinct_ids::<archived_messages::Entity, _>(db, archived_messages::Column::GuildId, None)
            .await?,
    );
    ids.extend(
        distinct_ids::<memory_facts::Entity, _>(db, memory_facts::Column::GuildId, None).await?,
    );
    ids.extend(
        distinct_ids::<guild_settings::Entity, _>(db, guild_settings::Column::GuildId, None)
            .await?,
    );
    ids.extend(
        distinct_ids::<persona_entries::Entity, _>(db, persona_entries::Column::GuildId, None)
            .await?,
    );
    ids.remove(&0);
    Ok(ids.into_iter().map(GuildId::from_i64).collect())
}

/// Members of one server the bot has seen speak or knows something about, most recently
/// seen first; `search` (lower case) matches a username, nickname or id.
pub async fn server_members<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    search: &str,
) -> StoreResult<Vec<MemberSummary>> {
    let g = guild.as_i64();
    let mut ids = BTreeSet::new();
    {
        use archived_messages::Column as Archived;
        use memory_facts::Column as Facts;
        use relationships::Column as Related;
        use short_term_messages::Column as Short;
        ids.extend(
            distinct_ids::<short_term_messages::Entity, _>(
                db,
                Short::AuthorId,
                Some((Short::GuildId, g)),
            )
            .await?,
        );
        ids.extend(
            distinct_ids::<archived_messages::Entity, _>(
                db,
                Archived::AuthorId,
                Some((Archived::GuildId, g)),
            )
            .await?,
        );
        ids.extend(
            distinct_ids::<memory_facts::Entity, _>(db, Facts::UserId, Some((Facts::GuildId, g)))
                .await?,
        );
        ids.extend(
            distinct_ids::<relationships::Entity, _>(
                db,
                Related::UserId,
                Some((Related::GuildId, g)),
            )
            .await?,
        );
    }
    let ids: Vec<i64> = ids.into_iter().collect();
    let mut nicknames: BTreeMap<i64, String> = BTreeMap::new();
    for chunk in super::batches(&ids) {
        let rows = user_names::Entity::find()
            .filter(user_names::Column::GuildId.eq(g))
            .filter(user_names::Column::UserId.is_in(chunk.iter().copied()))
            .order_by_asc(user_names::Column::LastSeenAt)
            .all(db)
            .await?;
        // Ascending, so the latest nickname wins.
        nicknames.extend(rows.into_iter().map(|r| (r.user_id, r.name)));
    }
    let mut members = Vec::new();
    for chunk in super::batches(&ids) {
        let rows = users::Entity::find()
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        let mut seen: BTreeSet<i64> = BTreeSet::new();
        for u in rows {
            seen.insert(u.id);
            members.push(MemberSummary {
                user_id: UserId::from_i64(u.id),
                nickname: nicknames.get(&u.id).cloned(),
                username: u.username,
                is_bot: u.is_bot,
                memory_off: u.memory_off,
                last_seen_at: Some(u.last_seen_at),
            });
        }
        // Known only by a fact or a metric (an admin added them): listed by id.
        members.extend(
            chunk
                .iter()
                .filter(|id| !seen.contains(id))
                .map(|&id| MemberSummary {
                    user_id: UserId::from_i64(id),
                    nickname: nicknames.get(&id).cloned(),
                    username: id.to_string(),
                    is_bot: false,
                    memory_off: false,
                    last_seen_at: None,
                }),
        );
    }
    let needle = search.trim().to_lowercase();
    members.retain(|m| {
        needle.is_empty()
            || m.username.to_lowercase().contains(&needle)
            || m.nickname
                .as_ref()
                .is_some_and(|n| n.to_lowercase().contains(&needle))
            || m.user_id.to_string().contains(&needle)
    });
    members.sort_by(|a, b| {
        b.last_seen_at
            .cmp(&a.last_seen_at)
            .then(a.user_id.cmp(&b.user_id))
    });
    members.truncate(MAX_MEMBERS);
    Ok(members)
}

/// The latest consolidation run, finished or not.
pub async fn last_run<C: ConnectionTrait>(db: &C) -> StoreResult<Option<RunSummary>> {
    let run = consolidation_runs::Entity::find()
        .order_by_desc(consolidation_runs::Column::Id)
        .one(db)
        .await?;
    let count = |n: i32| u64::try_from(n).unwrap_or(0);
    Ok(run.map(|r| RunSummary {
        started_at: r.started_at,
        finished_at: r.finished_at,
        status: r.status,
        stats: RunStats {
            users_done: count(r.users_done),
            facts_added: count(r.facts_added),
            facts_bumped: count(r.facts_bumped),
            messages_archived: count(r.messages_archived),
        },
    }))
}

/// When each message since `since` was written (short-term and archived), in one server
/// or everywhere.
pub async fn message_stamps<C: ConnectionTrait>(
    db: &C,
    guild: Option<GuildId>,
    since: DateTime<Utc>,
) -> StoreResult<Vec<MessageStamp>> {
    let mut q = short_term_messages::Entity::find()
        .select_only()
        .column(short_term_messages::Column::CreatedAt)
        .column(short_term_messages::Column::IsBot)
        .filter(short_term_messages::Column::CreatedAt.gte(ts(since)))
        .limit(MAX_STAMPS);
    let mut a = archived_messages::Entity::find()
        .select_only()
        .column(archived_messages::Column::CreatedAt)
        .column(archived_messages::Column::IsBot)
        .filter(archived_messages::Column::CreatedAt.gte(ts(since)))
        .limit(MAX_STAMPS);
    if let Some(g) = guild {
        q = q.filter(short_term_messages::Column::GuildId.eq(g.as_i64()));
        a = a.filter(archived_messages::Column::GuildId.eq(g.as_i64()));
    }
    let short: Vec<(DateTime<Utc>, bool)> = q.into_tuple().all(db).await?;
    let archived: Vec<(DateTime<Utc>, bool)> = a.into_tuple().all(db).await?;
    Ok(short
        .into_iter()
        .chain(archived)
        .map(|(at, by_bot)| MessageStamp { at, by_bot })
        .collect())
}

/// Keeps the day's rolled mood (called in `roll_mood`'s transaction).
pub async fn record_mood_day<C: ConnectionTrait>(
    db: &C,
    day: i64,
    values: &[(String, i64)],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for (dimension, value) in values {
        mood_history::Entity::insert(mood_history::ActiveModel {
            day: Set(day),
            dimension: Set(dimension.clone()),
            value: Set(*value),
            rolled_at: Set(ts(now)),
        })
        .on_conflict(
            OnConflict::columns([mood_history::Column::Day, mood_history::Column::Dimension])
                .update_columns([mood_history::Column::Value, mood_history::Column::RolledAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The mood of every day from `since_day` (days from the common era), oldest first.
pub async fn mood_history<C: ConnectionTrait>(
    db: &C,
    since_day: i64,
) -> StoreResult<Vec<MoodPoint>> {
    Ok(mood_history::Entity::find()
        .filter(mood_history::Column::Day.gte(since_day))
        .order_by_asc(mood_history::Column::Day)
        .all(db)
        .await?
        .into_iter()
        .map(|m| MoodPoint {
            day: m.day,
            dimension: m.dimension,
            value: m.value,
        })
        .collect())
}

/// A server's own switches and those of every channel the bot saw there or has a row for.
pub async fn server_switches<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
) -> StoreResult<ServerSwitches> {
    let g = guild.as_i64();
    let row = guild_settings::Entity::find_by_id(g).one(db).await?;
    let mut channels: BTreeMap<i64, ChannelSwitch> = BTreeMap::new();
    let seen: Vec<i64> = short_term_messages::Entity::find()
        .select_only()
        .column(short_term_messages::Column::ChannelId)
        .distinct()
        .filter(short_term_messages::Column::GuildId.eq(g))
        .into_tuple()
        .all(db)
        .await?;
    let archived: Vec<i64> = archived_messages::Entity::find()
        .select_only()
        .column(archived_messages::Column::ChannelId)
        .distinct()
        .filter(archived_messages::Column::GuildId.eq(g))
        .into_tuple()
        .all(db)
        .await?;
    for id in seen.into_iter().chain(archived) {
        channels.entry(id).or_insert(ChannelSwitch {
            channel: ChannelId::from_i64(id),
            enabled: None,
            proactive: false,
        });
    }
    let rows = channel_settings::Entity::find()
        .filter(channel_settings::Column::GuildId.eq(g))
        .all(db)
        .await?;
    for r in rows {
        channels.insert(
            r.channel_id,
            ChannelSwitch {
                channel: ChannelId::from_i64(r.channel_id),
                enabled: r.bot_enabled,
                proactive: r.proactive_enabled,
            },
        );
    }
    Ok(ServerSwitches {
        enabled: row.as_ref().map(|r| r.bot_enabled),
        memory: row.map(|r| r.memory_enabled),
        channels: channels.into_values().collect(),
    })
}
