//! The bot's day, end to end: a day of chat, the nightly consolidation (facts, archive,
//! short-term reset), the new status shown through the gateway, and a proactive message.
//!
//! The fixtures below script and read the nightly consolidation run.

use chrono::{DateTime, Utc};
use entity::{archived_messages, short_term_messages};
use fakes::{OpenAiRequest, Reply};
use personabot::domain::{MemoryFact, NewFact, UserId};
use personabot::store::{Store, facts};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

mod consolidation;
mod proactive;
mod retention;

/// The embedding model the bot uses by default (settings.yaml).
const EMBEDDING_MODEL: &str = "text-embedding-3-small";

fn extraction_for(name: &'static str) -> impl Fn(&OpenAiRequest) -> bool + Send + Sync {
    // The member's name is in the user turn (member text never reaches a system turn).
    move |r| is_extraction(r) && r.user_text().starts_with(&format!("Member: \"{name}\"\n"))
}

fn is_extraction(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("pick out durable facts about")
}

fn is_merge_judgement(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("Compare a stored fact")
}

fn is_status(r: &OpenAiRequest) -> bool {
    r.is_chat() && r.system_text().contains("Write your Discord custom status")
}

fn facts_json(facts: &[(&str, &str)]) -> Reply {
    let facts: Vec<Value> = facts
        .iter()
        .map(|(fact, category)| json!({"fact": fact, "category": category}))
        .collect();
    Reply::json(json!({ "facts": facts }))
}

/// A fact stored on an earlier night, with the embedding the bot would have made for it.
async fn seed_fact(db: &Store, user: u64, text: &str, category: &str, at: DateTime<Utc>) -> i64 {
    let new = NewFact {
        guild_id: personabot::domain::GuildId(fakes::world::ids::GUILD),
        user_id: UserId(user),
        fact: text.into(),
        category: category.into(),
        embedding: Some(fakes::openai::embed(text, fakes::openai::EMBEDDING_DIMS)),
    };
    facts::insert_fact(db.writer(), &new, Some(EMBEDDING_MODEL), at)
        .await
        .expect("seed a fact")
        .id
}

async fn all_facts(db: &Store, user: u64) -> Vec<MemoryFact> {
    let mut all = crate::support::facts_of(db, crate::support::member(user), true).await;
    all.sort_by_key(|f| f.id);
    all
}

async fn short_term(db: &Store) -> Vec<short_term_messages::Model> {
    short_term_messages::Entity::find()
        .all(db.reader())
        .await
        .expect("read the short-term log")
}

async fn archive(db: &Store) -> Vec<archived_messages::Model> {
    archived_messages::Entity::find()
        .all(db.reader())
        .await
        .expect("read the archive")
}
