//! Long-term facts about members. Contradicted facts are kept and point at their successor
//! (`superseded_by`), so history survives; embeddings are f32 little-endian bytes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MemoryFacts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(MemoryFacts::Id))
                    .col(big_integer(MemoryFacts::UserId))
                    .col(text(MemoryFacts::Fact))
                    .col(text(MemoryFacts::Category))
                    .col(timestamp_with_time_zone(MemoryFacts::FirstMentionedAt))
                    .col(timestamp_with_time_zone(MemoryFacts::LastMentionedAt))
                    .col(
                        integer(MemoryFacts::ReferenceCount)
                            .default(1)
                            .check(Expr::col(MemoryFacts::ReferenceCount).gte(1)),
                    )
                    .col(big_integer_null(MemoryFacts::SupersededBy))
                    .col(timestamp_with_time_zone_null(MemoryFacts::ValidUntil))
                    .col(blob_null(MemoryFacts::Embedding))
                    .col(text_null(MemoryFacts::EmbeddingModel))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memory_facts_superseded_by")
                            .from(MemoryFacts::Table, MemoryFacts::SupersededBy)
                            .to(MemoryFacts::Table, MemoryFacts::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memory_facts_user")
                    .table(MemoryFacts::Table)
                    .col(MemoryFacts::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memory_facts_user_superseded")
                    .table(MemoryFacts::Table)
                    .col(MemoryFacts::UserId)
                    .col(MemoryFacts::SupersededBy)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MemoryFacts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MemoryFacts {
    Table,
    Id,
    UserId,
    Fact,
    Category,
    FirstMentionedAt,
    LastMentionedAt,
    ReferenceCount,
    SupersededBy,
    ValidUntil,
    Embedding,
    EmbeddingModel,
}
