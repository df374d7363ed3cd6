//! Where the bot may speak: a server switch, per-channel overrides, and opt-in proactive posting.
//! Precedence: channel value, then the server's, then the configured default.

use chrono::{DateTime, Utc};
use entity::{channel_settings, guild_settings};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};

use super::{Store, StoreResult, ts};
use crate::domain::{ChannelId, ChannelPolicy, GuildId};

/// The effective policy of a channel. Proactive posting needs the channel's own opt-in (or the
/// default when the channel has no row) and the bot being enabled there.
pub async fn channel_policy<C: ConnectionTrait>(
    db: &C,
    guild: Option<GuildId>,
    channel: ChannelId,
    default: ChannelPolicy,
) -> StoreResult<ChannelPolicy> {
    let ch = channel_settings::Entity::find_by_id(channel.as_i64())
        .one(db)
        .await?;
    let guild_row = match guild {
        Some(g) => {
            guild_settings::Entity::find_by_id(g.as_i64())
                .one(db)
                .await?
        }
        None => None,
    };
    let guild_enabled = guild_row.as_ref().map(|m| m.bot_enabled);
    let persona_name = persona_name(db, guild_row.and_then(|m| m.persona_name)).await?;
    let bot_enabled = ch
        .as_ref()
        .and_then(|c| c.bot_enabled)
        .or(guild_enabled)
        .unwrap_or(default.bot_enabled);
    let proactive = ch
        .as_ref()
        .map_or(default.proactive_enabled, |c| c.proactive_enabled);
    Ok(ChannelPolicy {
        bot_enabled,
        proactive_enabled: bot_enabled && proactive,
        persona_name,
    })
}

/// The persona's name where a server's own name (its settings row) is `server_name`: that,
/// else the base name (bot-wide state), else `None` (the `bot.name` setting applies).
pub async fn persona_name<C: ConnectionTrait>(
    db: &C,
    server_name: Option<String>,
) -> StoreResult<Option<String>> {
    if server_name.is_some() {
        return Ok(server_name);
    }
    Ok(super::global_state::global_text(
        db,
        crate::domain::StateScope::BotWide,
        crate::domain::PERSONA_NAME_KEY,
    )
    .await?
    .filter(|n| !n.trim().is_empty()))
}

/// Changes a server's settings row (created with the defaults if the server has none).
/// Writes go through the one write lane, so the read-modify-write cannot interleave.
pub async fn upsert_guild<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut guild_settings::ActiveModel),
) -> StoreResult<()> {
    let existing = guild_settings::Entity::find_by_id(guild.as_i64())
        .one(db)
        .await?;
    let is_new = existing.is_none();
    let mut row = match existing {
        Some(row) => row.into_active_model(),
        None => guild_settings::ActiveModel {
            guild_id: Set(guild.as_i64()),
            bot_enabled: Set(true),
            memory_enabled: Set(true),
            persona_name: Set(None),
            log_channel_id: Set(None),
            updated_at: Set(ts(now)),
        },
    };
    change(&mut row);
    row.updated_at = Set(ts(now));
    if is_new {
        row.insert(db).await?;
    } else {
        row.update(db).await?;
    }
    Ok(())
}

pub async fn set_guild_enabled<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    enabled: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    upsert_guild(db, guild, now, |row| row.bot_enabled = Set(enabled)).await
}

/// Whether the server's members are remembered at all (facts, archive).
pub async fn set_guild_memory<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    enabled: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    upsert_guild(db, guild, now, |row| row.memory_enabled = Set(enabled)).await
}

/// Servers whose admins turned memory off.
pub async fn memory_off_guilds<C: ConnectionTrait>(db: &C) -> StoreResult<Vec<GuildId>> {
    Ok(guild_settings::Entity::find()
        .filter(guild_settings::Column::MemoryEnabled.eq(false))
        .all(db)
        .await?
        .into_iter()
        .map(|m| GuildId::from_i64(m.guild_id))
        .collect())
}

/// `enabled` None: inherit the server's setting again.
pub async fn set_channel_enabled<C: ConnectionTrait>(
    db: &C,
    guild: Option<GuildId>,
    channel: ChannelId,
    enabled: Option<bool>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    channel_settings::Entity::insert(channel_settings::ActiveModel {
        channel_id: Set(channel.as_i64()),
        guild_id: Set(guild.map(GuildId::as_i64)),
        bot_enabled: Set(enabled),
        proactive_enabled: Set(false),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::column(channel_settings::Column::ChannelId)
            .update_columns([
                channel_settings::Column::GuildId,
                channel_settings::Column::BotEnabled,
                channel_settings::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn set_channel_proactive<C: ConnectionTrait>(
    db: &C,
    guild: Option<GuildId>,
    channel: ChannelId,
    enabled: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    channel_settings::Entity::insert(channel_settings::ActiveModel {
        channel_id: Set(channel.as_i64()),
        guild_id: Set(guild.map(GuildId::as_i64)),
        bot_enabled: Set(None),
        proactive_enabled: Set(enabled),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::column(channel_settings::Column::ChannelId)
            .update_columns([
                channel_settings::Column::GuildId,
                channel_settings::Column::ProactiveEnabled,
                channel_settings::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Channels that opted into proactive posts where the bot is not disabled (channel or server).
pub async fn proactive_channels<C: ConnectionTrait>(db: &C) -> StoreResult<Vec<ChannelId>> {
    let channels = channel_settings::Entity::find()
        .filter(channel_settings::Column::ProactiveEnabled.eq(true))
        .order_by_asc(channel_settings::Column::ChannelId)
        .all(db)
        .await?;
    let guild_ids: Vec<i64> = channels.iter().filter_map(|c| c.guild_id).collect();
    let disabled: Vec<i64> = if guild_ids.is_empty() {
        Vec::new()
    } else {
        guild_settings::Entity::find()
            .filter(guild_settings::Column::GuildId.is_in(guild_ids))
            .filter(guild_settings::Column::BotEnabled.eq(false))
            .all(db)
            .await?
            .into_iter()
            .map(|g| g.guild_id)
            .collect()
    };
    Ok(channels
        .into_iter()
        .filter(|c| match c.bot_enabled {
            Some(enabled) => enabled,
            None => c.guild_id.is_none_or(|g| !disabled.contains(&g)),
        })
        .map(|c| ChannelId::from_i64(c.channel_id))
        .collect())
}

impl Store {
    pub async fn set_guild_enabled(
        &self,
        guild: GuildId,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        set_guild_enabled(&self.writer, guild, enabled, now).await
    }
}
