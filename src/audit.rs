//! The audit log: every mutation writes one entry (who, in which role, what,
//! when, the change) in the same transaction as the change itself, so an
//! entry exists exactly when the change does. Readable by ADMIN only.

use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::ApiResult;

/// One change to record.
pub struct Change<'a> {
    /// The mutation, e.g. `assignRole`.
    pub action: &'a str,
    /// The GraphQL type of the changed object, e.g. `RoleAssignment`.
    pub entity_type: &'a str,
    /// The changed row.
    pub entity_id: Uuid,
    /// What changed: `{"before": …, "after": …}` (no secrets).
    pub change: serde_json::Value,
}

/// Writes the audit entry of a change, inside the caller's transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    change: Change<'_>,
) -> ApiResult<()> {
    // The role that allowed the change: ADMIN if the viewer has it, else
    // its first scope.
    let role = if viewer.is_admin() {
        Some(entity::enums::Role::Admin)
    } else {
        viewer.scopes.first().map(|s| s.role())
    };
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(chrono::Utc::now()),
        subject: Set(viewer.subject.clone()),
        role: Set(role),
        action: Set(change.action.to_owned()),
        entity_type: Set(change.entity_type.to_owned()),
        entity_id: Set(Some(change.entity_id)),
        change: Set(change.change.to_string()),
    }
    .insert(db)
    .await?;
    Ok(())
}
