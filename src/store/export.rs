//! Data-subject requests: everything stored about a member, as one serializable value, and
//! deletion of all of it in one transaction (Discord's Developer Terms require both).

use sea_orm::{ConnectionTrait, TransactionSession, TransactionTrait};

use super::{Store, StoreResult, archive, facts, messages, relationships, users};
use crate::domain::{DeletionReport, UserExport, UserId};

pub async fn export_user<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<UserExport> {
    Ok(UserExport {
        user_id: user,
        user: users::user(db, user).await?,
        names: users::known_names(db, user).await?,
        facts: facts::facts_of_user(db, user, true, None).await?,
        relationship: relationships::stored_relationship(db, user).await?,
        relationship_events: relationships::relationship_events(db, user, i64::MAX as u64).await?,
        messages: messages::short_term_of_user(db, user).await?,
        archived_messages: archive::archived_of_user(db, user).await?,
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
        messages: archive::delete_user_messages(&txn, user).await?,
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
