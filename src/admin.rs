//! Real-time administration: every admin slash command becomes one typed `AdminRequest`,
//! applied by the StoreActor in order with all other writes. The bot reads persona, facts,
//! metrics and state from the database on every reply, so a change here shows in the very
//! next reply.

use crate::domain::{PersonaEntry, PersonaKind};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};

/// One administrative change or query.
#[derive(Clone, Debug)]
pub enum AdminRequest {
    AddPersonaEntry { kind: PersonaKind, content: String },
}

/// What an `AdminRequest` produced.
#[derive(Clone, Debug)]
pub enum AdminReply {
    PersonaEntry(PersonaEntry),
}

/// Applies one request.
pub async fn apply(store: &Store, request: AdminRequest, now: DateTime<Utc>) -> Result<AdminReply, StoreError> {
    match request {
        AdminRequest::AddPersonaEntry { kind, content } => {
            Ok(AdminReply::PersonaEntry(store.add_persona_entry(kind, &content, now).await?))
        }
    }
}
