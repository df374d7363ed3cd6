//! Data-subject requests: everything stored about a member, as one serializable value, and
//! deletion of all of it in one transaction (Discord's Developer Terms require both).

use sea_orm::{ConnectionTrait, TransactionSession, TransactionTrait};

use super::relationships::RelationshipEvent;
use super::users::UserRecord;
use super::{Store, StoreResult, facts, messages, relationships, users};
use crate::domain::{KnownName, LoggedMessage, MemoryFact, Relationship, UserId};

/// Everything the bot stores about one member.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UserExport {
    pub user_id: UserId,
    pub user: Option<UserRecord>,
    pub names: Vec<KnownName>,
    /// Current and superseded facts.
    pub facts: Vec<MemoryFact>,
    /// `None` when the bot never judged the member (neutral values apply).
    pub relationship: Option<Relationship>,
    /// Newest first.
    pub relationship_events: Vec<RelationshipEvent>,
    /// Short-term log, oldest first.
    pub messages: Vec<LoggedMessage>,
    /// Archive, oldest first.
    pub archived_messages: Vec<LoggedMessage>,
}

/// What a deletion removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeletionReport {
    pub messages: u64,
    pub facts: u64,
    pub relationship_rows: u64,
    pub user_rows: u64,
}

pub async fn export_user<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<UserExport> {
    Ok(UserExport {
        user_id: user,
        user: users::user(db, user).await?,
        names: users::known_names(db, user).await?,
        facts: facts::facts_of_user(db, user, true, None).await?,
        relationship: relationships::stored_relationship(db, user).await?,
        relationship_events: relationships::relationship_events(db, user, i64::MAX as u64).await?,
        messages: messages::short_term_of_user(db, user).await?,
        archived_messages: messages::archived_of_user(db, user).await?,
    })
}

/// Deletes everything stored about the member (messages they wrote, facts, relationship and
/// its log, user row and names) in one transaction.
pub async fn delete_user_data<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<DeletionReport> {
    let txn = db.begin().await?;
    let report = DeletionReport {
        messages: messages::delete_user_messages(&txn, user).await?,
        facts: facts::delete_all_facts(&txn, user).await?,
        relationship_rows: relationships::delete_relationship(&txn, user).await?,
        user_rows: users::delete_user(&txn, user).await?,
    };
    txn.commit().await?;
    Ok(report)
}

impl Store {
    /// Reads in one read transaction, so the export is one consistent snapshot.
    pub async fn export_user(&self, user: UserId) -> StoreResult<UserExport> {
        let txn = self.reader.begin().await?;
        let export = export_user(&txn, user).await?;
        txn.commit().await?;
        Ok(export)
    }

    pub async fn delete_user_data(&self, user: UserId) -> StoreResult<DeletionReport> {
        delete_user_data(&self.writer, user).await
    }
}
