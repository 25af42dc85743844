//! `idempotency_key`: the keys of idempotent requests (see the migration
//! `m20261205_000002_idempotency` for the states).

use sea_orm::entity::prelude::*;

/// One `Idempotency-Key` of one subject.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    /// Whose key: the token's subject (keys of different subjects never meet).
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    /// The key the client sent.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 (hex) of the request the key was first used with.
    pub request_hash: String,
    /// The attempt that owns the key while it is `pending`.
    pub attempt: Uuid,
    /// `pending`, `committed` or `done`.
    pub state: String,
    /// The first answer (JSON text), once `done`.
    #[sea_orm(column_type = "Text", nullable)]
    pub response: Option<String>,
    /// When the key was first used; it expires a day later.
    pub created_at: DateTimeUtc,
    /// When the current attempt began.
    pub claimed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
