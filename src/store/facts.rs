//! Long-term memory: facts about members, extracted by consolidation or written by the member.
//!
//! A contradicted fact is never overwritten: `supersede_fact` inserts the new one and points the
//! old one at it (`superseded_by`, `valid_until`), so "used to live in Oslo" stays answerable.
//! Embeddings are stored as f32 little-endian bytes together with the model that made them;
//! the free functions take `model` (the current embedding model) to stamp new vectors and to
//! return stored ones only when they came from that model.

use chrono::{DateTime, Utc};
use entity::memory_facts;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, TransactionSession, TransactionTrait,
};

use super::{Store, StoreError, StoreResult, ts, valid_text};
use crate::domain::{GuildId, MemoryFact, NewFact, ServerMember, UserId};
use sea_orm::Condition;

/// Longest fact accepted.
pub const MAX_FACT_CHARS: usize = 1000;
/// Longest category name accepted.
pub const MAX_CATEGORY_CHARS: usize = 64;

/// f32 values as little-endian bytes.
pub fn encode_embedding(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Reads back [`encode_embedding`]'s bytes; `None` if the length is not a multiple of 4.
pub fn decode_embedding(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

fn to_domain(m: memory_facts::Model, model: Option<&str>) -> MemoryFact {
    let same_model = match model {
        Some(current) => m.embedding_model.as_deref() == Some(current),
        None => true,
    };
    MemoryFact {
        id: m.id,
        guild_id: GuildId::from_i64(m.guild_id),
        user_id: UserId::from_i64(m.user_id),
        fact: m.fact,
        category: m.category,
        first_mentioned_at: m.first_mentioned_at,
        last_mentioned_at: m.last_mentioned_at,
        reference_count: m.reference_count,
        superseded_by: m.superseded_by,
        valid_until: m.valid_until,
        embedding: if same_model {
            m.embedding.as_deref().and_then(decode_embedding)
        } else {
            None
        },
    }
}

/// The facts of one member in one server.
fn of_member(member: ServerMember) -> Condition {
    Condition::all()
        .add(memory_facts::Column::GuildId.eq(member.guild.as_i64()))
        .add(memory_facts::Column::UserId.eq(member.user.as_i64()))
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound { what: "fact", id }
}

/// A member's facts in one server, most recently mentioned first, then most referenced.
pub async fn facts_of_member<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    include_superseded: bool,
    model: Option<&str>,
) -> StoreResult<Vec<MemoryFact>> {
    let mut q = memory_facts::Entity::find().filter(of_member(member));
    if !include_superseded {
        q = q.filter(memory_facts::Column::SupersededBy.is_null());
    }
    sorted(q, db, model).await
}

/// A member's facts in every server (their own export), by server, then as above.
pub async fn facts_of_user<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    model: Option<&str>,
) -> StoreResult<Vec<MemoryFact>> {
    let q = memory_facts::Entity::find()
        .filter(memory_facts::Column::UserId.eq(user.as_i64()))
        .order_by_asc(memory_facts::Column::GuildId);
    sorted(q, db, model).await
}

async fn sorted<C: ConnectionTrait>(
    q: sea_orm::Select<memory_facts::Entity>,
    db: &C,
    model: Option<&str>,
) -> StoreResult<Vec<MemoryFact>> {
    Ok(q.order_by_desc(memory_facts::Column::LastMentionedAt)
        .order_by_desc(memory_facts::Column::ReferenceCount)
        .order_by_desc(memory_facts::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| to_domain(m, model))
        .collect())
}

pub async fn fact<C: ConnectionTrait>(
    db: &C,
    id: i64,
    model: Option<&str>,
) -> StoreResult<Option<MemoryFact>> {
    Ok(memory_facts::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|m| to_domain(m, model)))
}

fn new_row(
    new: &NewFact,
    model: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<memory_facts::ActiveModel> {
    let fact = valid_text("fact", &new.fact, MAX_FACT_CHARS)?;
    let category = valid_text("category", &new.category, MAX_CATEGORY_CHARS)?;
    let embedding = new.embedding.as_deref().map(encode_embedding);
    let embedding_model = embedding.as_ref().and(model.map(str::to_owned));
    Ok(memory_facts::ActiveModel {
        guild_id: Set(new.guild_id.as_i64()),
        user_id: Set(new.user_id.as_i64()),
        fact: Set(fact),
        category: Set(category),
        first_mentioned_at: Set(now),
        last_mentioned_at: Set(now),
        reference_count: Set(1),
        superseded_by: Set(None),
        valid_until: Set(None),
        embedding: Set(embedding),
        embedding_model: Set(embedding_model),
        ..Default::default()
    })
}

pub async fn insert_fact<C: ConnectionTrait>(
    db: &C,
    new: &NewFact,
    model: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<MemoryFact> {
    let row = new_row(new, model, ts(now))?.insert(db).await?;
    Ok(to_domain(row, model))
}

/// The fact came up again: one more reference, mentioned now.
pub async fn bump_fact<C: ConnectionTrait>(
    db: &C,
    id: i64,
    model: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<MemoryFact> {
    let r = memory_facts::Entity::update_many()
        .col_expr(
            memory_facts::Column::ReferenceCount,
            Expr::col(memory_facts::Column::ReferenceCount).add(1),
        )
        .col_expr(memory_facts::Column::LastMentionedAt, Expr::value(ts(now)))
        .filter(memory_facts::Column::Id.eq(id))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(not_found(id));
    }
    fact(db, id, model).await?.ok_or_else(|| not_found(id))
}

/// Replaces `old_id` with a new fact about the same member, keeping the old one as history.
pub async fn supersede_fact<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    old_id: i64,
    new: &NewFact,
    model: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<MemoryFact> {
    let now = ts(now);
    let row = new_row(new, model, now)?;
    let txn = db.begin().await?;
    let old = memory_facts::Entity::find_by_id(old_id)
        .one(&txn)
        .await?
        .ok_or_else(|| not_found(old_id))?;
    if old.user_id != new.user_id.as_i64() || old.guild_id != new.guild_id.as_i64() {
        return Err(StoreError::Invalid(format!(
            "fact {old_id} belongs to another member"
        )));
    }
    if old.superseded_by.is_some() {
        return Err(StoreError::Invalid(format!(
            "fact {old_id} is already superseded"
        )));
    }
    let inserted = row.insert(&txn).await?;
    let mut old = old.into_active_model();
    old.superseded_by = Set(Some(inserted.id));
    old.valid_until = Set(Some(now));
    old.update(&txn).await?;
    txn.commit().await?;
    Ok(to_domain(inserted, model))
}

/// A member corrects one of their facts. NotFound if the id is not theirs in that server.
pub async fn edit_fact<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    id: i64,
    fact_text: &str,
    category: &str,
    model: Option<&str>,
) -> StoreResult<MemoryFact> {
    let fact_text = valid_text("fact", fact_text, MAX_FACT_CHARS)?;
    let category = valid_text("category", category, MAX_CATEGORY_CHARS)?;
    let row = memory_facts::Entity::find_by_id(id)
        .filter(of_member(member))
        .one(db)
        .await?
        .ok_or_else(|| not_found(id))?;
    let text_changed = row.fact != fact_text;
    let mut am = row.into_active_model();
    am.fact = Set(fact_text);
    am.category = Set(category);
    if text_changed {
        // The old vector describes the old text.
        am.embedding = Set(None);
        am.embedding_model = Set(None);
    }
    Ok(to_domain(am.update(db).await?, model))
}

/// Stores (or replaces) the embedding of a fact.
pub async fn set_fact_embedding<C: ConnectionTrait>(
    db: &C,
    id: i64,
    model: &str,
    vector: &[f32],
) -> StoreResult<()> {
    let r = memory_facts::Entity::update_many()
        .col_expr(
            memory_facts::Column::Embedding,
            Expr::value(Some(encode_embedding(vector))),
        )
        .col_expr(
            memory_facts::Column::EmbeddingModel,
            Expr::value(Some(model.to_owned())),
        )
        .filter(memory_facts::Column::Id.eq(id))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// A member deletes one of their facts. NotFound if the id is not theirs in that server.
pub async fn delete_fact<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
    id: i64,
) -> StoreResult<()> {
    delete_owned(db, id, of_member(member)).await
}

/// A member deletes one of their own facts, whichever server it was learned in. NotFound if
/// the id is not theirs.
pub async fn delete_user_fact<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    id: i64,
) -> StoreResult<()> {
    let owner = Condition::all().add(memory_facts::Column::UserId.eq(user.as_i64()));
    delete_owned(db, id, owner).await
}

/// Deletes fact `id` if it matches `owner`; NotFound otherwise (another owner's id reads as
/// unknown).
async fn delete_owned<C: ConnectionTrait>(db: &C, id: i64, owner: Condition) -> StoreResult<()> {
    let r = memory_facts::Entity::delete_many()
        .filter(memory_facts::Column::Id.eq(id))
        .filter(owner)
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// Forgets everything about a member in one server, superseded history included.
pub async fn delete_member_facts<C: ConnectionTrait>(
    db: &C,
    member: ServerMember,
) -> StoreResult<u64> {
    Ok(memory_facts::Entity::delete_many()
        .filter(of_member(member))
        .exec(db)
        .await?
        .rows_affected)
}

/// Forgets everything about a member in every server.
pub async fn delete_all_facts<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<u64> {
    Ok(memory_facts::Entity::delete_many()
        .filter(memory_facts::Column::UserId.eq(user.as_i64()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Number of stored facts, superseded ones included.
pub async fn count_facts<C: ConnectionTrait>(db: &C) -> StoreResult<u64> {
    Ok(memory_facts::Entity::find().count(db).await?)
}

/// Number of a server's current facts (superseded ones left out): the console's figure of
/// how much the bot remembers there.
pub async fn count_facts_in<C: ConnectionTrait>(db: &C, guild: GuildId) -> StoreResult<u64> {
    Ok(memory_facts::Entity::find()
        .filter(memory_facts::Column::GuildId.eq(guild.as_i64()))
        .filter(memory_facts::Column::SupersededBy.is_null())
        .count(db)
        .await?)
}

impl Store {
    pub async fn insert_fact(&self, new: &NewFact, now: DateTime<Utc>) -> StoreResult<MemoryFact> {
        insert_fact(&self.writer, new, self.embedding_model(), now).await
    }
}
