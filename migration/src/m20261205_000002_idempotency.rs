//! `idempotency_key`: the keys of idempotent requests (the `Idempotency-Key`
//! header), so that a client that retries a write gets the first answer
//! instead of a second write.
//!
//! One row per subject and key. `state` is `pending` while the first
//! attempt runs (`attempt` names it; `claimed_at` is when it began),
//! `committed` once a write of the request has committed (set inside that
//! write's transaction, so the row says `committed` exactly when the write
//! happened), and `done` once the answer is stored in `response`.
//! `request_hash` is the SHA-256 of the request (document, operation,
//! variables), to tell a retry from another request under the same key.
//! Rows expire after a day (`created_at`); the server deletes them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000002_idempotency"
    }
}

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    Subject,
    Key,
    RequestHash,
    Attempt,
    State,
    Response,
    CreatedAt,
    ClaimedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKey::Table)
                    .col(string_len(IdempotencyKey::Subject, 255))
                    .col(string_len(IdempotencyKey::Key, 255))
                    .col(string_len(IdempotencyKey::RequestHash, 64))
                    .col(uuid(IdempotencyKey::Attempt))
                    .col(string_len(IdempotencyKey::State, 16))
                    .col(text_null(IdempotencyKey::Response))
                    .col(timestamp_with_time_zone(IdempotencyKey::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyKey::ClaimedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKey::Subject)
                            .col(IdempotencyKey::Key),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_key_created_at")
                    .table(IdempotencyKey::Table)
                    .col(IdempotencyKey::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKey::Table).to_owned())
            .await
    }
}
