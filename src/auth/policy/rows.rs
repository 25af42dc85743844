//! Which tables are public, which are guarded by a row rule, and which the
//! API never loads row by row.
//!
//! Every table the API loads by key (the DataLoaders of
//! [`crate::graphql::loaders`]) implements [`RowRule`] here, once: a public
//! table with the rule "every row", a guarded table with its viewer's rule
//! from this module. The loaders take the rule from that implementation
//! and nowhere else, so a loader cannot be declared without the rule of its
//! table, nor with the rule of another table. A table without an
//! implementation (the statistics tallies, idempotency records) cannot
//! have a loader at all.
//!
//! The lists [`PUBLIC_TABLES`], [`GUARDED_TABLES`] and [`UNLOADED_TABLES`]
//! classify every table of the schema; the tests check them against the
//! migrated database, against these implementations and against every
//! loader (`tests/access.rs`), so that a new table must be classified
//! before it can be served, and a guarded one can never be served openly.

use entity::*;
use sea_orm::{Condition, EntityTrait};

use super::{
    nothing, visible_attendance, visible_grants, visible_participations, visible_persons,
    visible_role_assignments,
};
use crate::auth::Viewer;

/// How the rows of a table reach viewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exposure {
    /// The catalogue: every viewer sees every row.
    Public,
    /// Personal or confidential rows: each viewer sees those its row rule
    /// admits, and nothing else, through every path.
    Guarded,
}

/// The tables of the public catalogue.
pub const PUBLIC_TABLES: &[&str] = &[
    "county",
    "municipality",
    "municipality_successor",
    "funder_office",
    "funder_office_county",
    "provider",
    "provider_region",
    "service",
    "service_municipality",
    "service_area",
    "network",
    "network_member",
    "programme",
    "programme_provider",
    "programme_theme",
    "programme_service_kind",
    "milestone",
    "programme_run",
    "enrolment",
    "session",
];

/// The tables of personal or confidential data: each has a row rule in
/// this module, and every loader of one applies it.
pub const GUARDED_TABLES: &[&str] = &[
    "person",
    "participation",
    "attendance",
    "funding_grant",
    "role_assignment",
    "audit_log",
];

/// Tables the API never loads row by row: the statistics tallies (shown
/// only as figures under disclosure control) and the idempotency records
/// (internal). They have no [`RowRule`], so no loader can be declared for
/// them.
pub const UNLOADED_TABLES: &[&str] = &[
    "stats_run_kind",
    "stats_run_service",
    "stats_run_service_kind",
    "stats_run_person_kind",
    "stats_service_people",
    "idempotency_key",
];

/// The one row rule of an entity: how its rows may be loaded.
pub trait RowRule: EntityTrait {
    /// Whether the table is public or guarded.
    const EXPOSURE: Exposure;

    /// The rows `viewer` may see, as a SQL condition on the entity's
    /// table (every row for a public table).
    fn visible(viewer: &Viewer) -> Condition;
}

/// Public tables: every row for every viewer.
macro_rules! public {
    ($($table:ident),* $(,)?) => {
        $(
            impl RowRule for $table::Entity {
                const EXPOSURE: Exposure = Exposure::Public;
                fn visible(_viewer: &Viewer) -> Condition {
                    Condition::all()
                }
            }
        )*
    };
}

/// Guarded tables: the viewer's rule.
macro_rules! guarded {
    ($($table:ident => $rule:expr),* $(,)?) => {
        $(
            impl RowRule for $table::Entity {
                const EXPOSURE: Exposure = Exposure::Guarded;
                fn visible(viewer: &Viewer) -> Condition {
                    $rule(viewer)
                }
            }
        )*
    };
}

public!(
    county,
    municipality,
    municipality_successor,
    funder_office,
    funder_office_county,
    provider,
    provider_region,
    service,
    service_municipality,
    service_area,
    network,
    network_member,
    programme,
    programme_provider,
    programme_theme,
    programme_service_kind,
    milestone,
    programme_run,
    enrolment,
    session,
);

guarded!(
    person => visible_persons,
    participation => visible_participations,
    attendance => visible_attendance,
    funding_grant => visible_grants,
    role_assignment => visible_role_assignments,
    audit_log => visible_audit_log,
);

/// The audit log entries a viewer may see: all for ADMIN, none otherwise
/// (the `auditLog` field refuses everyone else outright, see
/// [`super::require_admin`]).
pub fn visible_audit_log(viewer: &Viewer) -> Condition {
    if viewer.is_admin() {
        Condition::all()
    } else {
        nothing()
    }
}

/// The exposure of a table by its name, from the lists above (`None`
/// for an unloaded or unknown table).
pub fn exposure_of(table: &str) -> Option<Exposure> {
    if PUBLIC_TABLES.contains(&table) {
        Some(Exposure::Public)
    } else if GUARDED_TABLES.contains(&table) {
        Some(Exposure::Guarded)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;
    use sea_orm::sea_query::{Query, SqliteQueryBuilder};
    use sea_orm::{QueryFilter, QueryTrait};
    use std::collections::BTreeSet;
    use uuid::Uuid;

    /// A table's name, exposure and row rule.
    type Entry = (&'static str, Exposure, fn(&Viewer) -> Condition);

    /// The table name, exposure and rule of an entity, as the loaders see
    /// them.
    fn entry<E: RowRule + Default>() -> Entry {
        (E::default().table_name(), E::EXPOSURE, E::visible)
    }

    fn every_rule() -> Vec<Entry> {
        vec![
            entry::<county::Entity>(),
            entry::<municipality::Entity>(),
            entry::<municipality_successor::Entity>(),
            entry::<funder_office::Entity>(),
            entry::<funder_office_county::Entity>(),
            entry::<provider::Entity>(),
            entry::<provider_region::Entity>(),
            entry::<service::Entity>(),
            entry::<service_municipality::Entity>(),
            entry::<service_area::Entity>(),
            entry::<network::Entity>(),
            entry::<network_member::Entity>(),
            entry::<programme::Entity>(),
            entry::<programme_provider::Entity>(),
            entry::<programme_theme::Entity>(),
            entry::<programme_service_kind::Entity>(),
            entry::<milestone::Entity>(),
            entry::<programme_run::Entity>(),
            entry::<enrolment::Entity>(),
            entry::<session::Entity>(),
            entry::<person::Entity>(),
            entry::<participation::Entity>(),
            entry::<attendance::Entity>(),
            entry::<funding_grant::Entity>(),
            entry::<role_assignment::Entity>(),
            entry::<audit_log::Entity>(),
        ]
    }

    #[test]
    fn the_lists_classify_each_table_once() {
        let all: Vec<&str> = PUBLIC_TABLES
            .iter()
            .chain(GUARDED_TABLES)
            .chain(UNLOADED_TABLES)
            .copied()
            .collect();
        let distinct: BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "a table is listed twice");
    }

    #[test]
    fn each_rule_matches_its_table_s_list() {
        let rules = every_rule();
        for (table, exposure, _) in &rules {
            assert_eq!(exposure_of(table), Some(*exposure), "{table}");
        }
        // Every public or guarded table has its rule.
        let ruled: BTreeSet<&str> = rules.iter().map(|(t, _, _)| *t).collect();
        let listed: BTreeSet<&str> = PUBLIC_TABLES
            .iter()
            .chain(GUARDED_TABLES)
            .copied()
            .collect();
        assert_eq!(ruled, listed);
    }

    #[test]
    fn guarded_rules_admit_nothing_without_rights() {
        let nobody = [
            Viewer::anonymous(),
            Viewer::new("nobody", vec![]),
            Viewer::new(
                "f",
                vec![Scope::Funder {
                    funder_office_id: Uuid::nil(),
                }],
            ),
        ];
        let none = Query::select()
            .cond_where(nothing())
            .to_string(SqliteQueryBuilder);
        for (table, exposure, rule) in every_rule() {
            for viewer in &nobody {
                let sql = Query::select()
                    .cond_where(rule(viewer))
                    .to_string(SqliteQueryBuilder);
                match exposure {
                    Exposure::Guarded if table == "funding_grant" && !viewer.scopes.is_empty() => {
                        // A funder sees its own office's grants: not none,
                        // but a condition naming the office.
                        assert!(sql.contains("funder_office_id"), "{sql}");
                    }
                    Exposure::Guarded => assert_eq!(sql, none, "{table} {viewer:?}"),
                    Exposure::Public => assert_ne!(sql, none, "{table}"),
                }
            }
        }
        // The rule is a condition on its own table's columns.
        let sql = person::Entity::find()
            .filter(person::Entity::visible(&Viewer::new(
                "l",
                vec![Scope::Leader {
                    service_id: Uuid::nil(),
                }],
            )))
            .build(sea_orm::DbBackend::Sqlite)
            .to_string();
        assert!(sql.contains("\"person\".\"service_id\" = "), "{sql}");
    }
}
