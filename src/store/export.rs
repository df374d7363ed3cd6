//! Data-subject requests: everything stored about a member, as one serializable value, and
//! deletion of all of it in one transaction (Discord's Developer Terms require both).
//! Both cover every server: the member asks about themselves, not about one server.

use sea_orm::{ConnectionTrait, TransactionSession, TransactionTrait};

use super::{StoreResult, archive, facts, messages, relationships, users};
use std::collections::BTreeMap;

use crate::domain::{DeletionReport, GuildId, ServerExport, UserExport, UserId};

pub async fn export_user<C: ConnectionTrait>(db: &C, user: UserId) -> StoreResult<UserExport> {
    let mut servers: BTreeMap<GuildId, ServerExport> = BTreeMap::new();
    fn server(servers: &mut BTreeMap<GuildId, ServerExport>, guild: GuildId) -> &mut ServerExport {
        servers.entry(guild).or_insert_with(|| ServerExport {
            guild_id: guild.as_server(),
            ..ServerExport::default()
        })
    }
    for name in users::known_names(db, user).await? {
        server(&mut servers, GuildId::scope(name.guild_id))
            .names
            .push(name);
    }
    for fact in facts::facts_of_user(db, user, None).await? {
        server(&mut servers, fact.guild_id).facts.push(fact);
    }
    for (guild, relationship) in relationships::relationships_of_user(db, user).await? {
        server(&mut servers, guild).relationship = Some(relationship);
    }
    for event in relationships::relationship_events_of_user(db, user).await? {
        server(&mut servers, event.guild_id)
            .relationship_events
            .push(event);
    }
    for message in messages::short_term_of_user(db, user).await? {
        server(&mut servers, GuildId::scope(message.guild_id))
            .messages
            .push(message);
    }
    for message in archive::archived_of_user(db, user).await? {
        server(&mut servers, GuildId::scope(message.guild_id))
            .archived_messages
            .push(message);
    }
    for (guild, day) in super::usage::usage_of_user(db, user).await? {
        server(&mut servers, guild).token_usage.push(day);
    }
    Ok(UserExport {
        user_id: user,
        user: users::user(db, user).await?,
        servers: servers.into_values().collect(),
    })
}

/// The username kept on the row that remembers an erased member's opt-out.
pub const ERASED_NAME: &str = "[erased]";

/// Deletes everything stored about the member (messages they wrote, facts, relationship and
/// its log, user row and names) in one transaction.
pub async fn delete_user_data<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<DeletionReport> {
    let txn = db.begin().await?;
    let opted_out = users::user(&txn, user).await?.is_some_and(|u| u.memory_off);
    let report = DeletionReport {
        messages: archive::delete_user_messages(&txn, user).await?,
        facts: facts::delete_all_facts(&txn, user).await?,
        relationship_rows: relationships::delete_relationship(&txn, user).await?,
        user_rows: users::delete_user(&txn, user).await?,
    };
    // Their token counters are member data too (their own budget starts afresh).
    super::usage::delete_user_spend(&txn, user).await?;
    // A member who turned memory off keeps that choice: erasing their data must not start
    // remembering them again. Only the id and the switch are kept, nothing else.
    if opted_out {
        users::set_memory_off(&txn, user, ERASED_NAME, true, chrono::Utc::now()).await?;
    }
    txn.commit().await?;
    Ok(report)
}

/// Reads in one read transaction, so the export is one consistent snapshot.
pub async fn export_snapshot<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    user: UserId,
) -> StoreResult<UserExport> {
    let txn = db.begin().await?;
    let export = export_user(&txn, user).await?;
    txn.commit().await?;
    Ok(export)
}
