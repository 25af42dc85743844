//! `audit_log`: an append-only record of changes made through the API.

use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// An audit-log entry. `entity_id` is not a foreign key: entries outlive the
/// rows they describe.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// When the change was made.
    pub at: DateTimeUtc,
    /// The authenticated subject who made the change, if any.
    pub subject: Option<String>,
    /// The role the subject acted in.
    pub role: Option<Role>,
    /// What was done (e.g. "create", "update", "delete").
    pub action: String,
    /// The table of the changed row (at most 80 characters).
    #[sea_orm(column_type = "String(StringLen::N(80))")]
    pub entity_type: String,
    /// The id of the changed row.
    pub entity_id: Option<Uuid>,
    /// The change as JSON text (an object, `{}` when empty).
    #[sea_orm(column_type = "Text")]
    pub change: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
