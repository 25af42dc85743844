//! Uniqueness rules held by the database itself, so that concurrent writes
//! cannot both pass a check made in the application:
//!
//! - an e-mail address belongs to at most one person of a service, compared
//!   case-insensitively (`ux_person_service_email`, on `lower(email)`);
//! - a subject holds a role with a scope at most once
//!   (`ux_role_assignment_*`: one index per scope column, and one, partial,
//!   for roles without a scope);
//! - a service has at most one current (not ended) membership of a network
//!   (`ux_network_member_current`, partial on `left_on IS NULL`).
//!
//! `up` first cleans the duplicates that the earlier, application-only
//! checks let through, deterministically: the row with the smallest id
//! (the oldest: ids are UUID v7) is kept. A duplicate e-mail is removed
//! from the later persons (the persons and their participations stay); a
//! duplicate role assignment is deleted (it granted nothing the kept one
//! does not); a duplicate current membership is deleted. E-mail addresses
//! are stored lower-cased, as the server writes them. `down` drops the
//! indexes (the cleaned rows stay cleaned). Every other uniqueness rule
//! (slugs, organisation numbers, one enrolment per run and service, one
//! participation per run and person, one attendance record per session
//! and person) has had its index since the first migration.
//!
//! The statements are plain SQL that both engines read alike (expression
//! and partial indexes: PostgreSQL, and SQLite since 3.9).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000001_uniqueness"
    }
}

/// Cleaning, then the indexes, in order.
const UP: [&str; 11] = [
    // E-mail: lower-cased, then kept by the oldest person of the service.
    "UPDATE person SET email = lower(email) WHERE email IS NOT NULL AND email <> lower(email)",
    "UPDATE person SET email = NULL WHERE email IS NOT NULL AND EXISTS ( \
       SELECT 1 FROM person o WHERE o.service_id = person.service_id \
         AND lower(o.email) = lower(person.email) AND o.id < person.id)",
    "CREATE UNIQUE INDEX ux_person_service_email ON person (service_id, lower(email))",
    // Role assignments: one per subject, role and scope.
    "DELETE FROM role_assignment WHERE EXISTS ( \
       SELECT 1 FROM role_assignment o WHERE o.subject = role_assignment.subject \
         AND o.role = role_assignment.role \
         AND (o.service_id = role_assignment.service_id \
              OR (o.service_id IS NULL AND role_assignment.service_id IS NULL)) \
         AND (o.provider_id = role_assignment.provider_id \
              OR (o.provider_id IS NULL AND role_assignment.provider_id IS NULL)) \
         AND (o.funder_office_id = role_assignment.funder_office_id \
              OR (o.funder_office_id IS NULL AND role_assignment.funder_office_id IS NULL)) \
         AND (o.person_id = role_assignment.person_id \
              OR (o.person_id IS NULL AND role_assignment.person_id IS NULL)) \
         AND o.id < role_assignment.id)",
    "CREATE UNIQUE INDEX ux_role_assignment_service ON role_assignment (subject, role, service_id)",
    "CREATE UNIQUE INDEX ux_role_assignment_provider ON role_assignment (subject, role, provider_id)",
    "CREATE UNIQUE INDEX ux_role_assignment_funder_office \
       ON role_assignment (subject, role, funder_office_id)",
    "CREATE UNIQUE INDEX ux_role_assignment_person ON role_assignment (subject, role, person_id)",
    "CREATE UNIQUE INDEX ux_role_assignment_unscoped ON role_assignment (subject, role) \
       WHERE service_id IS NULL AND provider_id IS NULL AND funder_office_id IS NULL \
         AND person_id IS NULL",
    // Network memberships: one current membership per service.
    "DELETE FROM network_member WHERE left_on IS NULL AND EXISTS ( \
       SELECT 1 FROM network_member o WHERE o.network_id = network_member.network_id \
         AND o.service_id = network_member.service_id AND o.left_on IS NULL \
         AND o.id < network_member.id)",
    "CREATE UNIQUE INDEX ux_network_member_current ON network_member (network_id, service_id) \
       WHERE left_on IS NULL",
];

const DOWN: [&str; 7] = [
    "DROP INDEX ux_network_member_current",
    "DROP INDEX ux_role_assignment_unscoped",
    "DROP INDEX ux_role_assignment_person",
    "DROP INDEX ux_role_assignment_funder_office",
    "DROP INDEX ux_role_assignment_provider",
    "DROP INDEX ux_role_assignment_service",
    "DROP INDEX ux_person_service_email",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
