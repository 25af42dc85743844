//! Data-subject access: everything the register holds about one person, in
//! one answer (`personalData`), for the person themself (STAFF) and ADMIN,
//! and as a JSON file (`kompetanse export-person`), which runs the same
//! query as ADMIN.
//!
//! What is held about a person: the person's row; their participations and
//! attendance records; the role assignments that tie an identity (a
//! token's subject) to them; and the audit entries about them: those about
//! their row, those whose recorded change names them (their participations,
//! their attendance, their role assignments), and those written under one
//! of their subjects.

use std::collections::HashSet;

use async_graphql::{Context, ID, Object};
use entity::{attendance, audit_log, participation, person, role_assignment};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::{AttendanceRecord, Participation, Person};
use crate::auth::{Scope, Viewer, policy, viewer};
use crate::domain::access::assignments::{AuditEntry, RoleAssignment};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// The query `kompetanse export-person` runs: every field of
/// `personalData`.
pub const EXPORT_QUERY: &str = "query PersonalData($person: ID!) {
  personalData(person: $person) {
    person { id name email jobTitle isLeader synthetic erased version service { id slug name } }
    participations {
      id role status synthetic completed sessionsAttended sessionsRequired version
      run { id title year programme { slug name } }
    }
    attendance { present recordedAt synthetic version session { id title date kind run { id title } } }
    roleAssignments { id subject role createdAt service { slug } provider { slug } person { id } }
    auditEntries { at subject role action entityType entityId change }
  }
}";

/// Everything the register holds about one person.
pub struct PersonalData {
    person: person::Model,
}

/// The audit entries about a person (see the module): about their row,
/// naming them in their change, or written under one of their `subjects`.
pub fn audit_entries_about(pid: Uuid, subjects: &HashSet<String>) -> Condition {
    let mut which = Condition::any()
        .add(audit_log::Column::EntityId.eq(pid))
        .add(audit_log::Column::Change.contains(pid.to_string()));
    for subject in subjects {
        which = which.add(audit_log::Column::Subject.eq(subject.as_str()));
    }
    which
}

/// The subjects (identities) tied to a person by role assignments.
pub async fn subjects_of(db: &impl ConnectionTrait, pid: Uuid) -> ApiResult<HashSet<String>> {
    Ok(role_assignment::Entity::find()
        .filter(role_assignment::Column::PersonId.eq(pid))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.subject)
        .collect())
}

/// Everything the register holds about one person: their record, their
/// participations and attendance, the role assignments that tie an
/// identity to them, and the audit entries about them. For the person
/// (STAFF) and ADMIN; the answer is the whole of what is held, not what a
/// list would page.
#[Object]
impl PersonalData {
    /// The person's record.
    async fn person(&self) -> Person {
        Person(self.person.clone())
    }
    /// Every participation of the person, oldest first.
    async fn participations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Participation>> {
        Ok(participation::Entity::find()
            .filter(participation::Column::PersonId.eq(self.person.id))
            .order_by_asc(participation::Column::CreatedAt)
            .order_by_asc(participation::Column::Id)
            .all(ctx.db()?)
            .await?
            .into_iter()
            .map(Participation)
            .collect())
    }
    /// Every attendance record of the person, oldest first.
    async fn attendance(&self, ctx: &Context<'_>) -> ApiResult<Vec<AttendanceRecord>> {
        Ok(attendance::Entity::find()
            .filter(attendance::Column::PersonId.eq(self.person.id))
            .order_by_asc(attendance::Column::RecordedAt)
            .order_by_asc(attendance::Column::Id)
            .all(ctx.db()?)
            .await?
            .into_iter()
            .map(AttendanceRecord)
            .collect())
    }
    /// The role assignments that tie an identity (a token's subject) to the
    /// person.
    async fn role_assignments(&self, ctx: &Context<'_>) -> ApiResult<Vec<RoleAssignment>> {
        Ok(role_assignment::Entity::find()
            .filter(role_assignment::Column::PersonId.eq(self.person.id))
            .order_by_asc(role_assignment::Column::CreatedAt)
            .order_by_asc(role_assignment::Column::Id)
            .all(ctx.db()?)
            .await?
            .into_iter()
            .map(RoleAssignment)
            .collect())
    }
    /// The audit entries about the person, oldest first: about their
    /// record, naming them in their change (participations, attendance,
    /// role assignments), or written under one of their identities.
    async fn audit_entries(&self, ctx: &Context<'_>) -> ApiResult<Vec<AuditEntry>> {
        let db = ctx.db()?;
        let subjects = subjects_of(db, self.person.id).await?;
        Ok(audit_log::Entity::find()
            .filter(audit_entries_about(self.person.id, &subjects))
            .order_by_asc(audit_log::Column::At)
            .order_by_asc(audit_log::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|entry| AuditEntry(own_part(entry, self.person.id)))
            .collect())
    }
}

/// The part of an audit entry that is about the person `pid`: an
/// attendance list (`recordAttendance`) records every person of the call,
/// and only the person's own line is theirs to read.
fn own_part(mut entry: audit_log::Model, pid: Uuid) -> audit_log::Model {
    let Ok(mut change) = serde_json::from_str::<serde_json::Value>(&entry.change) else {
        return entry;
    };
    let person = serde_json::Value::String(pid.to_string());
    if let Some(lines) = change
        .get_mut("entries")
        .and_then(serde_json::Value::as_array_mut)
    {
        lines.retain(|line| line.get("person") == Some(&person));
        entry.change = change.to_string();
    }
    entry
}

/// Whether `viewer` may read everything held about `row`: ADMIN, and the
/// person themself.
fn may_read_all_about(viewer: &Viewer, row: &person::Model) -> bool {
    viewer.is_admin()
        || viewer
            .scopes
            .iter()
            .any(|s| matches!(*s, Scope::Staff { person_id } if person_id == row.id))
}

/// The root field of data-subject access.
#[derive(Default)]
pub struct SubjectAccessQuery;

#[Object]
impl SubjectAccessQuery {
    /// Everything the register holds about one person (the right of
    /// access): for the person themself (STAFF) and ADMIN. Others are
    /// answered as if the person did not exist (NOT_FOUND) when they cannot
    /// see the person, and FORBIDDEN when they can (a leader reads their
    /// staff through `persons`). `kompetanse export-person` writes the same
    /// answer as a JSON file.
    async fn personal_data(&self, ctx: &Context<'_>, person: ID) -> ApiResult<PersonalData> {
        let viewer = viewer(ctx)?;
        let key = id::decode_as(&person, "Person", "person")?;
        let row = person::Entity::find_by_id(key)
            .filter(policy::visible_persons(viewer))
            .one(ctx.db()?)
            .await?
            .ok_or_else(|| ApiError::not_found("person"))?;
        if !may_read_all_about(viewer, &row) {
            return Err(policy::refuse(
                viewer,
                "only the person themself and ADMIN may read everything held about a person",
            ));
        }
        Ok(PersonalData { person: row })
    }
}

/// Everything held about the person `key` (a global id or a UUID), as the
/// JSON answer of [`EXPORT_QUERY`] run as ADMIN: what `kompetanse
/// export-person` writes.
pub async fn export(db: &DatabaseConnection, key: &str) -> Result<serde_json::Value, String> {
    let global = match key.parse::<Uuid>() {
        Ok(uuid) => id::encode("Person", uuid).to_string(),
        Err(_) => key.to_owned(),
    };
    let schema = crate::graphql::build_schema(db.clone(), &crate::config::Limits::default());
    let admin = Viewer::new("kompetanse export-person", vec![Scope::Admin]);
    let request = async_graphql::Request::new(EXPORT_QUERY).variables(
        async_graphql::Variables::from_json(serde_json::json!({ "person": global })),
    );
    let response = schema
        .execute(crate::graphql::prepare_request(request, db, admin))
        .await;
    if let Some(err) = response.errors.first() {
        return Err(err.message.clone());
    }
    let data = response.data.into_json().map_err(|e| e.to_string())?;
    Ok(data["personalData"].clone())
}
