//! Attendance figures of sessions: counted in the database for many
//! sessions at once, and shown under the suppression rule of the policy.

use std::collections::HashMap;

use async_graphql::SimpleObject;
use async_graphql::dataloader::Loader;
use entity::attendance;
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::graphql::loader::LoadError;

/// Keys per statement (far below both engines' parameter limits).
const CHUNK: usize = 1000;

/// The raw attendance figures of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttendanceTally {
    /// Attendance rows (people registered, present or not).
    pub registered: i64,
    /// Rows marked present.
    pub present: i64,
}

/// Attendance figures per session, loaded for many sessions at once with
/// one grouped query. A session without attendance rows has no entry.
pub struct AttendanceCounts {
    db: DatabaseConnection,
}

impl AttendanceCounts {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<Uuid> for AttendanceCounts {
    type Value = AttendanceTally;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            // COUNT is bigint on PostgreSQL, SUM of integers is numeric or
            // bigint depending on the argument: cast both to BIGINT so that
            // both engines hand back an i64.
            let bigint = || Alias::new("BIGINT");
            let registered: Expr =
                Func::cast_as(Func::count(Expr::col(attendance::Column::Id)), bigint()).into();
            let present: Expr = Func::cast_as(
                Func::sum(Expr::case(attendance::Column::Present.eq(true), 1).finally(0)),
                bigint(),
            )
            .into();
            let rows: Vec<(Uuid, i64, i64)> = attendance::Entity::find()
                .select_only()
                .column(attendance::Column::SessionId)
                .column_as(registered, "registered")
                .column_as(present, "present")
                .filter(attendance::Column::SessionId.is_in(chunk.iter().copied()))
                .group_by(attendance::Column::SessionId)
                .into_tuple()
                .all(&self.db)
                .await?;
            for (session, registered, present) in rows {
                out.insert(
                    session,
                    AttendanceTally {
                        registered,
                        present,
                    },
                );
            }
        }
        Ok(out)
    }
}

/// The registered attendance of a session (people with an attendance
/// record), as the viewer may see it. Counts from 1 to 4 are hidden from
/// viewers without full rights on the run, so that no one can be singled
/// out; a figure that would let a hidden one be worked out (for example
/// `present` from `registered` minus `absent`) is hidden with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, SimpleObject)]
pub struct AttendanceSummary {
    /// People registered for the session, present or absent; null when
    /// suppressed.
    pub registered: Option<i64>,
    /// People registered as present; null when suppressed.
    pub present: Option<i64>,
    /// People registered as absent; null when suppressed.
    pub absent: Option<i64>,
    /// Whether any figure above is withheld.
    pub suppressed: bool,
}

impl AttendanceSummary {
    /// Applies `visible` (the policy's people-count rule) to the tally, with
    /// secondary suppression: registered = present + absent, so hiding one
    /// of present and absent hides the other.
    pub fn new(tally: AttendanceTally, visible: impl Fn(i64) -> Option<i64>) -> Self {
        let absent = tally.registered - tally.present;
        let (registered, present, absent) = (
            visible(tally.registered),
            visible(tally.present),
            visible(absent),
        );
        match (registered, present, absent) {
            (None, _, _) => Self {
                registered: None,
                present: None,
                absent: None,
                suppressed: true,
            },
            (Some(r), Some(p), Some(a)) => Self {
                registered: Some(r),
                present: Some(p),
                absent: Some(a),
                suppressed: false,
            },
            (Some(r), _, _) => Self {
                registered: Some(r),
                present: None,
                absent: None,
                suppressed: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Viewer, policy};

    fn summary(registered: i64, present: i64) -> AttendanceSummary {
        AttendanceSummary::new(
            AttendanceTally {
                registered,
                present,
            },
            |n| policy::people_count(&Viewer::anonymous(), n),
        )
    }

    #[test]
    fn no_rows_is_zero_and_shown() {
        assert_eq!(
            summary(0, 0),
            AttendanceSummary {
                registered: Some(0),
                present: Some(0),
                absent: Some(0),
                suppressed: false
            }
        );
    }

    #[test]
    fn large_counts_are_shown() {
        assert_eq!(
            summary(30, 25),
            AttendanceSummary {
                registered: Some(30),
                present: Some(25),
                absent: Some(5),
                suppressed: false
            }
        );
        assert_eq!(
            summary(12, 12),
            AttendanceSummary {
                registered: Some(12),
                present: Some(12),
                absent: Some(0),
                suppressed: false
            }
        );
    }

    #[test]
    fn small_total_hides_everything() {
        assert_eq!(
            summary(3, 3),
            AttendanceSummary {
                registered: None,
                present: None,
                absent: None,
                suppressed: true
            }
        );
    }

    #[test]
    fn small_part_hides_both_parts() {
        // 2 absent out of 10: showing present = 8 would reveal it.
        assert_eq!(
            summary(10, 8),
            AttendanceSummary {
                registered: Some(10),
                present: None,
                absent: None,
                suppressed: true
            }
        );
        assert_eq!(
            summary(10, 1),
            AttendanceSummary {
                registered: Some(10),
                present: None,
                absent: None,
                suppressed: true
            }
        );
    }

    #[test]
    fn full_rights_see_everything() {
        let s = AttendanceSummary::new(
            AttendanceTally {
                registered: 3,
                present: 2,
            },
            Some,
        );
        assert_eq!(
            s,
            AttendanceSummary {
                registered: Some(3),
                present: Some(2),
                absent: Some(1),
                suppressed: false
            }
        );
    }
}
