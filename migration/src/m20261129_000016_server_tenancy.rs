//! Every server is a tenant: member facts, relationships and their events gain the server
//! they belong to; the persona gains per-server layers; state splits into bot-wide (server
//! 0) and per-server keys; members and servers can turn memory off.
//!
//! **Where existing member data goes.** A database made before this step has one profile
//! per member. It is assigned to the member's *home server*: the server where they wrote
//! the most messages (short-term log and archive together), ties going to the server of
//! their earliest message. A member who never wrote in a server (direct messages only, or
//! no messages left) keeps their data in scope 0, the direct-messages scope. The profile is
//! not copied into the member's other servers: that would carry what they said in one
//! server into another, which is exactly what this step forbids.
//!
//! SQLite cannot change a primary key in place, so `relationships` and `global_state` are
//! rebuilt (create the new table, copy, drop, rename) on both backends alike.

use std::collections::HashMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::prelude::ChronoDateTimeUtc;
use sea_orm_migration::sea_orm::{ConnectionTrait, QueryResult, StatementBuilder};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The scope of direct messages (and of bot-wide state).
const NO_SERVER: i64 = 0;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let homes = home_servers(manager).await?;
        facts_per_server(manager, &homes).await?;
        relationships_per_server(manager, &homes).await?;
        persona_layers(manager).await?;
        state_per_server(manager).await?;
        memory_switches(manager).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Merging per-server profiles back into one would have to pick one server's data
        // and lose the others': not done silently.
        Err(DbErr::Migration(
            "the per-server tenancy migration cannot be reverted without losing data".into(),
        ))
    }
}

/// The home server of every member who wrote in a server (see the module docs).
async fn home_servers(manager: &SchemaManager<'_>) -> Result<HashMap<i64, i64>, DbErr> {
    // (messages, earliest message id) per (member, server); message ids are snowflakes, so
    // the smallest is the earliest.
    let mut seen: HashMap<(i64, i64), (i64, i64)> = HashMap::new();
    for table in [Messages::ShortTerm, Messages::Archived] {
        let query = Query::select()
            .column(Messages::AuthorId)
            .column(Messages::GuildId)
            .expr_as(Expr::col(Messages::MessageId).count(), Alias::new("n"))
            .expr_as(Expr::col(Messages::MessageId).min(), Alias::new("first"))
            .from(table)
            .and_where(Expr::col(Messages::GuildId).is_not_null())
            .group_by_columns([Messages::AuthorId, Messages::GuildId])
            .to_owned();
        for row in query_all(manager, &query).await? {
            let author: i64 = row.try_get("", "author_id")?;
            let guild: i64 = row.try_get("", "guild_id")?;
            let n: i64 = row.try_get("", "n")?;
            let first: i64 = row.try_get("", "first")?;
            let entry = seen.entry((author, guild)).or_insert((0, i64::MAX));
            entry.0 += n;
            entry.1 = std::cmp::min(entry.1, first);
        }
    }
    let mut best: HashMap<i64, (i64, i64, i64)> = HashMap::new();
    for ((author, guild), (n, first)) in seen {
        let better = |(_, bn, bfirst): &(i64, i64, i64)| n > *bn || (n == *bn && first < *bfirst);
        match best.get(&author) {
            Some(current) if !better(current) => {}
            _ => {
                best.insert(author, (guild, n, first));
            }
        }
    }
    Ok(best.into_iter().map(|(a, (g, _, _))| (a, g)).collect())
}

async fn query_all(
    manager: &SchemaManager<'_>,
    query: &SelectStatement,
) -> Result<Vec<QueryResult>, DbErr> {
    manager.get_connection().query_all(query).await
}

async fn exec<S: StatementBuilder + Sync>(
    manager: &SchemaManager<'_>,
    statement: &S,
) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute(statement)
        .await
        .map(|_| ())
}

fn home(homes: &HashMap<i64, i64>, user: i64) -> i64 {
    homes.get(&user).copied().unwrap_or(NO_SERVER)
}

async fn facts_per_server(
    manager: &SchemaManager<'_>,
    homes: &HashMap<i64, i64>,
) -> Result<(), DbErr> {
    for (table, column) in [
        (Alias::new("memory_facts"), Alias::new("guild_id")),
        (Alias::new("relationship_events"), Alias::new("guild_id")),
    ] {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(big_integer(column.clone()).default(NO_SERVER))
                    .to_owned(),
            )
            .await?;
        for (user, guild) in homes {
            let update = Query::update()
                .table(table.clone())
                .value(column.clone(), *guild)
                .and_where(Expr::col(Alias::new("user_id")).eq(*user))
                .to_owned();
            exec(manager, &update).await?;
        }
    }
    manager
        .create_index(
            Index::create()
                .name("idx_memory_facts_guild_user")
                .table(Alias::new("memory_facts"))
                .col(Alias::new("guild_id"))
                .col(Alias::new("user_id"))
                .to_owned(),
        )
        .await
}

async fn relationships_per_server(
    manager: &SchemaManager<'_>,
    homes: &HashMap<i64, i64>,
) -> Result<(), DbErr> {
    let metric = |name: &str, lo: i32, hi: i32| {
        small_integer(Alias::new(name))
            .check(Expr::col(Alias::new(name)).between(lo, hi))
            .take()
    };
    manager
        .create_table(
            Table::create()
                .table(Alias::new("relationships_v2"))
                .col(big_integer(Alias::new("guild_id")))
                .col(big_integer(Alias::new("user_id")))
                .col(metric("anger", 0, 10))
                .col(metric("rapport", 0, 10))
                .col(metric("trust", 0, 10))
                .col(metric("formality", -5, 5))
                .col(timestamp_with_time_zone(Alias::new("updated_at")))
                .primary_key(
                    Index::create()
                        .col(Alias::new("guild_id"))
                        .col(Alias::new("user_id")),
                )
                .to_owned(),
        )
        .await?;
    let columns = [
        "user_id",
        "anger",
        "rapport",
        "trust",
        "formality",
        "updated_at",
    ];
    let old = Query::select()
        .columns(columns.map(Alias::new))
        .from(Alias::new("relationships"))
        .to_owned();
    for row in query_all(manager, &old).await? {
        let user: i64 = row.try_get("", "user_id")?;
        let metric = |name: &str| -> Result<i16, DbErr> { row.try_get("", name) };
        let updated: ChronoDateTimeUtc = row.try_get("", "updated_at")?;
        let insert = Query::insert()
            .into_table(Alias::new("relationships_v2"))
            .columns(std::iter::once("guild_id").chain(columns).map(Alias::new))
            .values_panic([
                home(homes, user).into(),
                user.into(),
                metric("anger")?.into(),
                metric("rapport")?.into(),
                metric("trust")?.into(),
                metric("formality")?.into(),
                updated.into(),
            ])
            .to_owned();
        exec(manager, &insert).await?;
    }
    replace_table(manager, "relationships").await
}

async fn persona_layers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // NULL: the global base persona; otherwise that server's layer.
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new("persona_entries"))
                .add_column(big_integer_null(Alias::new("guild_id")))
                .to_owned(),
        )
        .await?;
    // A server entry that takes the place of a base entry in that server.
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new("persona_entries"))
                .add_column(big_integer_null(Alias::new("replaces")))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_persona_entries_guild")
                .table(Alias::new("persona_entries"))
                .col(Alias::new("guild_id"))
                .to_owned(),
        )
        .await
}

async fn state_per_server(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Alias::new("global_state_v2"))
                .col(big_integer(Alias::new("guild_id")))
                .col(text(Alias::new("key")))
                .col(big_integer(Alias::new("value")))
                .col(text_null(Alias::new("text_value")))
                .col(timestamp_with_time_zone(Alias::new("updated_at")))
                .primary_key(
                    Index::create()
                        .col(Alias::new("guild_id"))
                        .col(Alias::new("key")),
                )
                .to_owned(),
        )
        .await?;
    let old = Query::select()
        .columns(["key", "value", "text_value", "updated_at"].map(Alias::new))
        .from(Alias::new("global_state"))
        .to_owned();
    for row in query_all(manager, &old).await? {
        let key: String = row.try_get("", "key")?;
        let value: i64 = row.try_get("", "value")?;
        let text: Option<String> = row.try_get("", "text_value")?;
        let updated: ChronoDateTimeUtc = row.try_get("", "updated_at")?;
        let insert = Query::insert()
            .into_table(Alias::new("global_state_v2"))
            .columns(["guild_id", "key", "value", "text_value", "updated_at"].map(Alias::new))
            .values_panic([
                NO_SERVER.into(),
                key.into(),
                value.into(),
                text.into(),
                updated.into(),
            ])
            .to_owned();
        exec(manager, &insert).await?;
    }
    replace_table(manager, "global_state").await
}

async fn memory_switches(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // A member's opt-out holds in every server.
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new("users"))
                .add_column(boolean(Alias::new("memory_off")).default(false))
                .to_owned(),
        )
        .await?;
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new("guild_settings"))
                .add_column(boolean(Alias::new("memory_enabled")).default(true))
                .to_owned(),
        )
        .await?;
    // The persona's name in this server (NULL: the base name).
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new("guild_settings"))
                .add_column(text_null(Alias::new("persona_name")))
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Messages {
    #[sea_orm(iden = "short_term_messages")]
    ShortTerm,
    #[sea_orm(iden = "archived_messages")]
    Archived,
    MessageId,
    AuthorId,
    GuildId,
}

/// Puts the rebuilt `{table}_v2` in the place of `table` (the copy is done).
async fn replace_table(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(Alias::new(table)).to_owned())
        .await?;
    manager
        .rename_table(
            Table::rename()
                .table(Alias::new(format!("{table}_v2")), Alias::new(table))
                .to_owned(),
        )
        .await
}
