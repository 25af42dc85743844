//! Who sees attendance: the rows (who was at which session) and the
//! figures per session (how many were registered, present, absent).
//!
//! Rows: ADMIN all; STAFF their own; a LEADER those of its service's
//! staff; a PROVIDER those at the sessions of runs of its programmes (lead
//! or partner), and no others, even of a person it sees; funders and
//! anonymous viewers none ([`visible_attendance`]). The rule says this in
//! SQL by itself, whatever its caller narrows it to.
//!
//! Figures: a session's attendance is counted in full and over the records
//! the viewer has full rights to ([`count_rights`]: the same rights as the
//! statistics), and goes through disclosure control
//! ([`AttendanceTally::protect`]): exact when every record is within the
//! viewer's rights, perturbed or withheld otherwise.

use entity::{attendance, person, session};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition};

use super::disclosure::{Figure, Measure, Protected};
use super::statistics::{FactRights, own_people_facts, services_of_offices};
use super::{nothing, per_scope, runs_of_provider};
use crate::auth::{Scope, Viewer};

/// The attendance rows a viewer may see, as a SQL condition on
/// `attendance`: STAFF their own, a LEADER its service's staff's, a
/// PROVIDER those at sessions of runs of its programmes, an ADMIN all;
/// nothing for funders and anonymous viewers.
pub fn visible_attendance(viewer: &Viewer) -> Condition {
    per_scope(viewer, |scope| match *scope {
        Scope::Admin => Condition::all(),
        Scope::Staff { person_id } => {
            Condition::all().add(attendance::Column::PersonId.eq(person_id))
        }
        Scope::Leader { service_id } => Condition::all().add(
            attendance::Column::PersonId.in_subquery(
                Query::select()
                    .column(person::Column::Id)
                    .from(person::Entity)
                    .and_where(person::Column::ServiceId.eq(service_id))
                    .to_owned(),
            ),
        ),
        Scope::Provider { provider_id } => Condition::all().add(
            attendance::Column::SessionId.in_subquery(
                Query::select()
                    .column(session::Column::Id)
                    .from(session::Entity)
                    .and_where(session::Column::RunId.in_subquery(runs_of_provider(provider_id)))
                    .to_owned(),
            ),
        ),
        Scope::Funder { .. } => nothing(),
    })
}

/// The attendance records whose count a viewer sees exactly, given the
/// programme of the session's run (`run_programme`) and the service of the
/// registered person (`person_service`): ADMIN all; a PROVIDER those at
/// runs of its programmes; a LEADER its service's staff's; a FUNDER those
/// of services covering its counties; STAFF and anonymous viewers none.
/// The same rights as the statistics
/// ([`own_people_facts`]), so that a session's figure and the statistics
/// over the same records agree.
pub fn count_rights(viewer: &Viewer, run_programme: Expr, person_service: Expr) -> FactRights {
    own_people_facts(viewer, run_programme, person_service, services_of_offices)
}

/// The attendance figures of one session, before protection (a session
/// without records has the default: all zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttendanceTally {
    /// Attendance rows (people registered, present or not).
    pub registered: Figure,
    /// Rows marked present.
    pub present: Figure,
}

/// The attendance figures of one session as the viewer may see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownAttendance {
    /// People registered, present or absent.
    pub registered: Protected,
    /// People registered as present (withheld whenever `registered` is).
    pub present: Protected,
    /// People registered as absent (withheld whenever `registered` is).
    pub absent: Protected,
}

impl AttendanceTally {
    /// The figures through disclosure control: exact for viewers with full
    /// rights on every record (see [`count_rights`]); for everyone else
    /// each figure perturbed by its cell key, figures below the threshold
    /// withheld, and `present` and `absent` withheld whenever `registered`
    /// is (the records of a few people are protected like their number).
    pub fn protect(&self) -> ShownAttendance {
        let registered = self.registered.protect(Measure::Recorded);
        let present = self.present.protect(Measure::Present).gate(registered);
        let absent = self
            .registered
            .minus(&self.present)
            .protect(Measure::Absent)
            .gate(registered);
        ShownAttendance {
            registered,
            present,
            absent,
        }
    }
}

impl ShownAttendance {
    /// Whether any figure is withheld.
    pub fn is_suppressed(&self) -> bool {
        self.registered.is_suppressed()
            || self.present.is_suppressed()
            || self.absent.is_suppressed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::SqliteQueryBuilder;
    use uuid::Uuid;

    fn shown(registered: (i64, i64, i64), present: (i64, i64, i64)) -> ShownAttendance {
        AttendanceTally {
            registered: Figure::new(registered.0, registered.1, registered.2),
            present: Figure::new(present.0, present.1, present.2),
        }
        .protect()
    }

    #[test]
    fn no_records_is_zero_and_shown() {
        let s = AttendanceTally::default().protect();
        assert_eq!(
            (s.registered, s.present, s.absent),
            (
                Protected::Exact(0),
                Protected::Exact(0),
                Protected::Exact(0)
            )
        );
        assert!(!s.is_suppressed());
    }

    #[test]
    fn full_rights_see_everything_exactly() {
        let s = shown((3, 3, 100), (2, 2, 60));
        assert_eq!(
            (s.registered, s.present, s.absent),
            (
                Protected::Exact(3),
                Protected::Exact(2),
                Protected::Exact(1)
            )
        );
    }

    #[test]
    fn a_small_session_is_withheld_whatever_its_keys() {
        for key in (0..(1_i64 << 32)).step_by(7_919_113) {
            let s = shown((3, 0, key), (3, 0, key));
            if s.registered.is_suppressed() {
                assert!(s.present.is_suppressed() && s.absent.is_suppressed());
                assert!(s.is_suppressed());
            } else {
                // Perturbed upwards: never the true 3, never below 5.
                assert!(s.registered.value() >= Some(5), "{s:?}");
            }
        }
    }

    #[test]
    fn others_see_perturbed_figures_that_repeat() {
        let a = shown((30, 0, 12_345), (25, 0, 6_789));
        assert_eq!(a, shown((30, 0, 12_345), (25, 0, 6_789)));
        // A leader with 20 of the 30 registered still sees the mixed
        // session through the noise, not exactly.
        let mixed = shown((30, 20, 99), (25, 18, 77));
        assert!(matches!(mixed.registered, Protected::Perturbed(_)));
    }

    fn sql(viewer: &Viewer) -> String {
        Query::select()
            .column(attendance::Column::Id)
            .from(attendance::Entity)
            .cond_where(visible_attendance(viewer))
            .to_string(SqliteQueryBuilder)
    }

    #[test]
    fn the_row_rule_says_each_role_s_promise() {
        let id = Uuid::nil();
        // A provider: the sessions of its runs, never "persons it sees".
        let provider = sql(&Viewer::new("p", vec![Scope::Provider { provider_id: id }]));
        assert!(
            provider.contains("\"session_id\" IN (SELECT \"id\" FROM \"session\""),
            "{provider}"
        );
        assert!(!provider.contains("\"person_id\" IN"), "{provider}");
        // A leader: its service's staff.
        let leader = sql(&Viewer::new("l", vec![Scope::Leader { service_id: id }]));
        assert!(
            leader.contains("\"person_id\" IN (SELECT \"id\" FROM \"person\""),
            "{leader}"
        );
        // Staff: themselves.
        let staff = sql(&Viewer::new("s", vec![Scope::Staff { person_id: id }]));
        assert!(staff.contains("\"person_id\" = "), "{staff}");
        // Funders and anonymous viewers: nothing; ADMIN: everything.
        for nobody in [
            Viewer::anonymous(),
            Viewer::new(
                "f",
                vec![Scope::Funder {
                    funder_office_id: id,
                }],
            ),
        ] {
            assert!(sql(&nobody).contains("1 = 0"), "{}", sql(&nobody));
        }
        let admin = sql(&Viewer::new("a", vec![Scope::Admin]));
        assert!(
            !admin.contains("IN (") && !admin.contains("1 = 0"),
            "{admin}"
        );
    }
}
