//! The bot's persona: admin-written lines (traits, lore, facts, quirks) that open every prompt,
//! in two layers. The base (`guild_id` NULL) is the bot owners'; each server's admins keep a
//! layer of their own that adds to it or replaces base entries in that server only. Every
//! write names its layer and finds only entries of that layer, so an admin of one server can
//! never touch the base or another server's layer by guessing an id.

use chrono::{DateTime, Utc};
use entity::guild_settings;
use entity::persona_entries;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};

use super::{StoreError, StoreResult, ts, valid_text};
use crate::domain::{GuildId, PERSONA_NAME_KEY, Persona, PersonaEntry, PersonaKind, StateScope};

/// Longest persona name accepted (Discord's nickname limit).
pub const MAX_NAME_CHARS: usize = 32;

/// Longest persona line accepted.
pub const MAX_PERSONA_CHARS: usize = 2000;

fn to_domain(m: persona_entries::Model) -> StoreResult<PersonaEntry> {
    let kind = m
        .kind
        .parse::<PersonaKind>()
        .map_err(|e| StoreError::Corrupt(format!("persona entry {}: {e}", m.id)))?;
    Ok(PersonaEntry {
        id: m.id,
        guild_id: m.guild_id.map(GuildId::from_i64),
        replaces: m.replaces,
        kind,
        content: m.content,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The entries of one layer (`None`: the base), in insertion order.
pub async fn layer_entries<C: ConnectionTrait>(
    db: &C,
    layer: Option<GuildId>,
) -> StoreResult<Vec<PersonaEntry>> {
    let column = persona_entries::Column::GuildId;
    let filter = match layer {
        None => column.is_null(),
        Some(guild) => column.eq(guild.as_i64()),
    };
    persona_entries::Entity::find()
        .filter(filter)
        .order_by_asc(persona_entries::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The persona as `guild` sees it (`None`: the base alone, e.g. for the daily status).
pub async fn persona<C: ConnectionTrait>(db: &C, guild: Option<GuildId>) -> StoreResult<Persona> {
    let base = layer_entries(db, None).await?;
    let (layer, server_name) = match guild.and_then(GuildId::as_server) {
        Some(g) => (layer_entries(db, Some(g)).await?, server_name(db, g).await?),
        None => (Vec::new(), None),
    };
    Ok(Persona {
        name: super::settings::persona_name(db, server_name).await?,
        entries: Persona::layered(base, layer),
    })
}

async fn server_name<C: ConnectionTrait>(db: &C, guild: GuildId) -> StoreResult<Option<String>> {
    Ok(guild_settings::Entity::find_by_id(guild.as_i64())
        .one(db)
        .await?
        .and_then(|row| row.persona_name))
}

/// Renames the persona in one server (`None` there: back to the base name).
pub async fn set_server_persona_name<C: ConnectionTrait>(
    db: &C,
    guild: GuildId,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let name = name
        .map(|n| valid_text("persona name", n, MAX_NAME_CHARS))
        .transpose()?;
    super::settings::upsert_guild(db, guild, now, |row| row.persona_name = Set(name)).await
}

/// One entry of one layer; NotFound when the id belongs to another layer.
pub async fn persona_entry<C: ConnectionTrait>(
    db: &C,
    layer: Option<GuildId>,
    id: i64,
) -> StoreResult<PersonaEntry> {
    let entry = persona_entries::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_domain)
        .transpose()?;
    entry
        .filter(|e| e.guild_id == layer)
        .ok_or(StoreError::NotFound {
            what: "persona entry",
            id,
        })
}

/// Adds an entry to a layer. `replaces` (server layers only) names the base entry this one
/// stands in for in that server.
pub async fn add_persona_entry<C: ConnectionTrait>(
    db: &C,
    layer: Option<GuildId>,
    kind: PersonaKind,
    content: &str,
    replaces: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<PersonaEntry> {
    let content = valid_text("persona entry", content, MAX_PERSONA_CHARS)?;
    if let Some(base_id) = replaces {
        if layer.is_none() {
            return Err(StoreError::Invalid(
                "only a server's layer can replace a base entry".into(),
            ));
        }
        persona_entry(db, None, base_id).await?;
    }
    let now = ts(now);
    let row = persona_entries::ActiveModel {
        guild_id: Set(layer.map(GuildId::as_i64)),
        replaces: Set(replaces),
        kind: Set(kind.as_str().to_owned()),
        content: Set(content),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    to_domain(row)
}

pub async fn edit_persona_entry<C: ConnectionTrait>(
    db: &C,
    layer: Option<GuildId>,
    id: i64,
    content: &str,
    now: DateTime<Utc>,
) -> StoreResult<PersonaEntry> {
    let content = valid_text("persona entry", content, MAX_PERSONA_CHARS)?;
    persona_entry(db, layer, id).await?;
    let row = persona_entries::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound {
            what: "persona entry",
            id,
        })?;
    let mut am = row.into_active_model();
    am.content = Set(content);
    am.updated_at = Set(ts(now));
    to_domain(am.update(db).await?)
}

/// Removes an entry of a layer. Removing a base entry also removes the server entries that
/// replaced it (they would otherwise silently become additions).
pub async fn remove_persona_entry<C: ConnectionTrait>(
    db: &C,
    layer: Option<GuildId>,
    id: i64,
) -> StoreResult<()> {
    persona_entry(db, layer, id).await?;
    if layer.is_none() {
        persona_entries::Entity::delete_many()
            .filter(persona_entries::Column::Replaces.eq(id))
            .exec(db)
            .await?;
    }
    let r = persona_entries::Entity::delete_by_id(id).exec(db).await?;
    if r.rows_affected == 0 {
        return Err(StoreError::NotFound {
            what: "persona entry",
            id,
        });
    }
    Ok(())
}

/// Renames the persona: `guild` None the base name, else that server's; `name` None goes
/// back to the base name (or the setting).
pub async fn set_persona_name<C: ConnectionTrait>(
    db: &C,
    guild: Option<GuildId>,
    name: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    match guild {
        Some(g) => set_server_persona_name(db, g, name.as_deref(), now).await,
        None => {
            let name = name
                .map(|n| valid_text("persona name", &n, MAX_NAME_CHARS))
                .transpose()?;
            super::global_state::global_set_text(
                db,
                StateScope::BotWide,
                PERSONA_NAME_KEY,
                name.as_deref().unwrap_or(""),
                now,
            )
            .await
        }
    }
}
