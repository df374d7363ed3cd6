//! The bot's persona: admin-written lines (traits, lore, facts, quirks) that open every prompt.

use chrono::{DateTime, Utc};
use entity::persona_entries;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel, QueryOrder,
};

use super::{Store, StoreError, StoreResult, ts, valid_text};
use crate::domain::{Persona, PersonaEntry, PersonaKind};

/// Longest persona line accepted.
pub const MAX_PERSONA_CHARS: usize = 2000;

fn to_domain(m: persona_entries::Model) -> StoreResult<PersonaEntry> {
    let kind = m
        .kind
        .parse::<PersonaKind>()
        .map_err(|e| StoreError::Corrupt(format!("persona entry {}: {e}", m.id)))?;
    Ok(PersonaEntry {
        id: m.id,
        kind,
        content: m.content,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// All entries in insertion order.
pub async fn persona<C: ConnectionTrait>(db: &C) -> StoreResult<Persona> {
    let rows = persona_entries::Entity::find()
        .order_by_asc(persona_entries::Column::Id)
        .all(db)
        .await?;
    Ok(Persona {
        entries: rows
            .into_iter()
            .map(to_domain)
            .collect::<StoreResult<_>>()?,
    })
}

pub async fn persona_entry<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> StoreResult<Option<PersonaEntry>> {
    persona_entries::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

pub async fn add_persona_entry<C: ConnectionTrait>(
    db: &C,
    kind: PersonaKind,
    content: &str,
    now: DateTime<Utc>,
) -> StoreResult<PersonaEntry> {
    let content = valid_text("persona entry", content, MAX_PERSONA_CHARS)?;
    let now = ts(now);
    let row = persona_entries::ActiveModel {
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
    id: i64,
    content: &str,
    now: DateTime<Utc>,
) -> StoreResult<PersonaEntry> {
    let content = valid_text("persona entry", content, MAX_PERSONA_CHARS)?;
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

pub async fn remove_persona_entry<C: ConnectionTrait>(db: &C, id: i64) -> StoreResult<()> {
    let r = persona_entries::Entity::delete_by_id(id).exec(db).await?;
    if r.rows_affected == 0 {
        return Err(StoreError::NotFound {
            what: "persona entry",
            id,
        });
    }
    Ok(())
}

impl Store {
    pub async fn persona(&self) -> StoreResult<Persona> {
        persona(&self.reader).await
    }

    pub async fn persona_entry(&self, id: i64) -> StoreResult<Option<PersonaEntry>> {
        persona_entry(&self.reader, id).await
    }

    pub async fn add_persona_entry(
        &self,
        kind: PersonaKind,
        content: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<PersonaEntry> {
        add_persona_entry(&self.writer, kind, content, now).await
    }

    pub async fn edit_persona_entry(
        &self,
        id: i64,
        content: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<PersonaEntry> {
        edit_persona_entry(&self.writer, id, content, now).await
    }

    pub async fn remove_persona_entry(&self, id: i64) -> StoreResult<()> {
        remove_persona_entry(&self.writer, id).await
    }
}
