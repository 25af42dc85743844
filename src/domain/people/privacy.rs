//! Data-subject rights: erasure of a person's personal data.
//!
//! An erased person keeps its row, with its service, its record key and
//! its participation and attendance, so that every statistic, completion
//! and tally stays as it was, counted anonymously. Everything that names
//! or identifies the person goes, in one transaction:
//!
//! - the row's name (replaced by [`ERASED_NAME`]), e-mail and job title;
//! - the role assignments that tie an identity (a token's subject) to the
//!   person;
//! - in the audit log, the name, e-mail and job title in every before and
//!   after image of the person, and the person's subjects wherever they
//!   appear (as the author of an entry or inside an image);
//! - the stored answers of idempotent writes that mention the person.
//!
//! The erasure itself is audited without personal data (the person's id
//! and what was removed, counted). Erasing an erased person changes
//! nothing.

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use entity::{audit_log, idempotency_key, person, role_assignment};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Person, subject_access};
use crate::audit::{self, Change};
use crate::auth::{Viewer, policy, viewer};
use crate::domain::write;
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// The name an erased person is shown with.
pub const ERASED_NAME: &str = "(slettet)";

/// What stands in for an erased identity (a subject) in the audit log.
pub const ERASED_SUBJECT: &str = "(slettet)";

/// Refuses a write that names an erased person (`field` names it): an
/// erased person takes no more writes, so that nothing can be tied to it
/// again.
pub fn not_erased(row: &person::Model, field: &str) -> ApiResult<()> {
    if row.erased_at.is_some() {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` names an erased person, who takes no more writes"),
        ))
    } else {
        Ok(())
    }
}

/// What one erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erasure {
    /// Whether this call erased the person (false: it was erased before).
    pub erased: bool,
    /// Role assignments removed (each tied an identity to the person).
    pub role_assignments_removed: u64,
    /// Audit entries whose personal data was redacted.
    pub audit_entries_redacted: u64,
    /// Stored answers of idempotent writes removed.
    pub stored_answers_removed: u64,
}

/// Erases `row` inside the caller's transaction (which must hold the row:
/// the caller found it there), recording the erasure as done by `viewer`.
/// Returns the row as saved and what was removed. A row erased before is
/// returned as it is, and nothing changes.
pub async fn erase(
    txn: &impl ConnectionTrait,
    viewer: &Viewer,
    action: &str,
    row: person::Model,
) -> ApiResult<(person::Model, Erasure)> {
    if row.erased_at.is_some() {
        return Ok((row, Erasure::default()));
    }
    let pid = row.id;
    let subjects = subject_access::subjects_of(txn, pid).await?;
    let role_assignments_removed = role_assignment::Entity::delete_many()
        .filter(role_assignment::Column::PersonId.eq(pid))
        .exec(txn)
        .await?
        .rows_affected;

    // The person's own row.
    let now = Utc::now();
    let mut am = row.clone().into_active_model();
    am.name = Set(ERASED_NAME.to_owned());
    am.email = Set(None);
    am.job_title = Set(None);
    am.erased_at = Set(Some(now));
    am.version = Set(row.version + 1);
    am.updated_at = Set(now);
    let saved = am.update(txn).await?;

    let audit_entries_redacted = redact_audit_log(txn, pid, &subjects).await?;
    let stored_answers_removed = remove_stored_answers(txn, pid, &subjects).await?;

    let erasure = Erasure {
        erased: true,
        role_assignments_removed,
        audit_entries_redacted,
        stored_answers_removed,
    };
    audit::record(
        txn,
        viewer,
        Change {
            action,
            entity_type: "Person",
            entity_id: pid,
            change: json!({
                "erased": true,
                "roleAssignmentsRemoved": role_assignments_removed,
                "auditEntriesRedacted": audit_entries_redacted,
                "storedAnswersRemoved": stored_answers_removed,
            }),
        },
    )
    .await?;
    Ok((saved, erasure))
}

/// Redacts the audit entries that hold the person's personal data: those
/// about the person, those whose change mentions the person's id, and
/// those written or mentioning one of its subjects.
async fn redact_audit_log(
    txn: &impl ConnectionTrait,
    pid: Uuid,
    subjects: &HashSet<String>,
) -> ApiResult<u64> {
    // The entries about the person, and any whose change names a subject.
    let mut which = subject_access::audit_entries_about(pid, subjects);
    for subject in subjects {
        which = which.add(audit_log::Column::Change.contains(subject.as_str()));
    }
    let entries = audit_log::Entity::find().filter(which).all(txn).await?;
    let person = pid.to_string();
    let mut redacted = 0;
    for entry in entries {
        let mut change: Value = serde_json::from_str(&entry.change).unwrap_or(Value::Null);
        let changed = redact(&mut change, &person, subjects);
        let author = entry.subject.as_ref().is_some_and(|s| subjects.contains(s));
        if !changed && !author {
            continue;
        }
        let mut am = entry.into_active_model();
        if changed {
            am.change = Set(change.to_string());
        }
        if author {
            am.subject = Set(Some(ERASED_SUBJECT.to_owned()));
        }
        am.update(txn).await?;
        redacted += 1;
    }
    Ok(redacted)
}

/// Redacts, in an audit image, the person's name, e-mail and job title
/// (in every image of the person's row) and its subjects (anywhere).
/// Returns whether anything changed.
fn redact(value: &mut Value, person: &str, subjects: &HashSet<String>) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            let is_person = map.get("id").and_then(Value::as_str) == Some(person)
                && map.contains_key("service_id")
                && map.contains_key("name");
            if is_person {
                for (field, erased) in [
                    ("name", json!(ERASED_NAME)),
                    ("email", Value::Null),
                    ("job_title", Value::Null),
                ] {
                    if map.get(field) != Some(&erased) {
                        map.insert(field.to_owned(), erased);
                        changed = true;
                    }
                }
            }
            for v in map.values_mut() {
                changed |= redact(v, person, subjects);
            }
            changed
        }
        Value::Array(items) => {
            let mut changed = false;
            for v in items {
                changed |= redact(v, person, subjects);
            }
            changed
        }
        Value::String(s) if subjects.contains(s.as_str()) => {
            *s = ERASED_SUBJECT.to_owned();
            true
        }
        _ => false,
    }
}

/// Removes the stored answers of idempotent writes that mention the
/// person (by its id or global id) or were asked by one of its subjects.
async fn remove_stored_answers(
    txn: &impl ConnectionTrait,
    pid: Uuid,
    subjects: &HashSet<String>,
) -> ApiResult<u64> {
    let mut which = Condition::any()
        .add(idempotency_key::Column::Response.contains(pid.to_string()))
        .add(idempotency_key::Column::Response.contains(id::encode("Person", pid).to_string()));
    if !subjects.is_empty() {
        which = which.add(idempotency_key::Column::Subject.is_in(subjects.iter().cloned()));
    }
    Ok(idempotency_key::Entity::delete_many()
        .filter(which)
        .exec(txn)
        .await?
        .rows_affected)
}

/// Erases a person's personal data.
#[derive(Debug, InputObject)]
pub struct ErasePersonInput {
    /// The person (`Person` id).
    pub id: ID,
}

/// The erased person and what the erasure removed.
#[derive(SimpleObject)]
pub struct ErasePersonPayload {
    /// The person as it is now: named `(slettet)`, without e-mail or job
    /// title, `erased` true; its participations stay, anonymously.
    pub person: Person,
    /// Whether this call erased the person (false: it was erased before,
    /// and nothing changed).
    pub erased: bool,
    /// Role assignments removed (each tied an identity to the person).
    pub role_assignments_removed: i64,
    /// Audit entries whose personal data was redacted.
    pub audit_entries_redacted: i64,
}

/// Mutations of data-subject rights.
#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erases a person's personal data (ADMIN, or the LEADER of the
    /// person's service), in one transaction: the name, e-mail and job
    /// title, the role assignments that tie an identity to the person, the
    /// personal data in the audit log's before and after images, and the
    /// stored answers of idempotent writes that mention the person. The
    /// person's participation and attendance stay and count in the
    /// statistics as before, anonymously. The erasure is audited without
    /// personal data. Erasing an erased person changes nothing; a person
    /// the viewer cannot see is NOT_FOUND. An erased person takes no more
    /// writes.
    async fn erase_person(
        &self,
        ctx: &Context<'_>,
        input: ErasePersonInput,
    ) -> ApiResult<ErasePersonPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Person", "input.id")?;
        let txn = write::begin(ctx.db()?).await?;
        // Locked (on PostgreSQL), so that two erasures of one person take
        // turns and the second finds it erased.
        let row = person::Entity::find_by_id(key)
            .filter(policy::visible_persons(&viewer))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("person"))?;
        policy::may_manage_staff(&viewer, row.service_id)?;
        let (saved, erasure) = erase(&txn, &viewer, "erasePerson", row).await?;
        write::commit(txn).await?;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Ok(ErasePersonPayload {
            person: Person(saved),
            erased: erasure.erased,
            role_assignments_removed: count(erasure.role_assignments_removed),
            audit_entries_redacted: count(erasure.audit_entries_redacted),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_the_person_and_its_subjects_are_redacted() {
        let person = "0193a6f0-0000-7000-8000-000000000001";
        let subjects: HashSet<String> = ["idp|kari".to_owned()].into();
        let mut change = json!({
            "before": { "id": person, "service_id": "s", "name": "Kari Nordmann",
                        "email": "kari@example.no", "job_title": "Miljøterapeut" },
            "after": { "id": person, "service_id": "s", "name": "Kari N.",
                       "email": null, "job_title": "Miljøterapeut" },
            "grant": { "id": "other", "service_id": "s", "name": "Not her" },
            "assignment": { "subject": "idp|kari", "person_id": person },
        });
        assert!(redact(&mut change, person, &subjects));
        let text = change.to_string();
        for gone in ["Kari", "kari@", "Miljøterapeut", "idp|kari"] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert_eq!(change["grant"]["name"], "Not her");
        // A second pass finds nothing left.
        assert!(!redact(&mut change, person, &subjects));
    }
}
