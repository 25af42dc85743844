//! Attendance figures of sessions: counted in the database for many
//! sessions at once, with the viewer's rights and the record keys, and
//! shown as the policy decides ([`crate::auth::policy::attendance`]: who
//! has full rights on which records, and what each viewer is shown).

use std::collections::HashMap;

use async_graphql::SimpleObject;
use async_graphql::dataloader::Loader;
use entity::{attendance, person, programme_run, session};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::auth::policy::attendance::{ShownAttendance, count_rights};
use crate::auth::policy::disclosure::Figure;
use crate::auth::policy::statistics::FactRights;
use crate::graphql::loader::LoadError;

pub use crate::auth::policy::attendance::AttendanceTally;

/// Keys per statement (far below both engines' parameter limits).
const CHUNK: usize = 1000;

/// Attendance figures per session, loaded for many sessions at once with
/// one grouped query, each counted in full, over the facts the viewer has
/// full rights to (the policy's [`count_rights`], the same rule as the
/// statistics), and as the sum of the record keys. A session without
/// attendance rows has no entry.
pub struct AttendanceCounts {
    db: DatabaseConnection,
    rights: FactRights,
}

impl AttendanceCounts {
    /// The counts for one request, with its viewer's rights
    /// ([`count_rights`]).
    pub fn new(db: DatabaseConnection, viewer: &Viewer) -> Self {
        let rights = count_rights(
            viewer,
            Expr::col((Alias::new("r"), programme_run::Column::ProgrammeId)),
            Expr::col((Alias::new("pe"), person::Column::ServiceId)),
        );
        Self { db, rights }
    }
}

impl Loader<Uuid> for AttendanceCounts {
    type Value = AttendanceTally;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut out = HashMap::with_capacity(keys.len());
        let col = |t: &str, c: &str| Expr::col((Alias::new(t), Alias::new(c)));
        // COUNT is bigint on PostgreSQL, SUM of integers is numeric or
        // bigint depending on the argument: cast every figure to BIGINT so
        // that both engines hand back an i64.
        let bigint = |e: Expr| -> Expr { Func::cast_as(e, Alias::new("BIGINT")).into() };
        let sum = |e: Expr| bigint(Func::coalesce([Func::sum(e).into(), Expr::val(0)]).into());
        let present = || col("at", "present").eq(true);
        let key = || col("pe", "record_key");
        let own = self.rights.flag();
        for chunk in keys.chunks(CHUNK) {
            let stmt = Query::select()
                .expr_as(col("at", "session_id"), Alias::new("session_id"))
                .expr_as(
                    bigint(Func::count(Expr::cust("*")).into()),
                    Alias::new("registered"),
                )
                .expr_as(
                    sum(Expr::case(present(), 1).finally(0).into()),
                    Alias::new("present"),
                )
                .expr_as(sum(own.clone()), Alias::new("registered_own"))
                .expr_as(
                    sum(Expr::case(present(), own.clone()).finally(0).into()),
                    Alias::new("present_own"),
                )
                .expr_as(sum(key()), Alias::new("registered_key"))
                .expr_as(
                    sum(Expr::case(present(), key()).finally(0).into()),
                    Alias::new("present_key"),
                )
                .from_as(attendance::Entity, Alias::new("at"))
                .join_as(
                    JoinType::InnerJoin,
                    person::Entity,
                    Alias::new("pe"),
                    col("pe", "id").equals((Alias::new("at"), attendance::Column::PersonId)),
                )
                .join_as(
                    JoinType::InnerJoin,
                    session::Entity,
                    Alias::new("ss"),
                    col("ss", "id").equals((Alias::new("at"), attendance::Column::SessionId)),
                )
                .join_as(
                    JoinType::InnerJoin,
                    programme_run::Entity,
                    Alias::new("r"),
                    col("r", "id").equals((Alias::new("ss"), session::Column::RunId)),
                )
                .and_where(col("at", "session_id").is_in(chunk.iter().copied()))
                .add_group_by([col("at", "session_id")])
                .to_owned();
            let rows = self.db.query_all(&stmt).await?;
            for row in rows {
                let n = |c: &str| row.try_get::<i64>("", c);
                out.insert(
                    row.try_get::<Uuid>("", "session_id")?,
                    AttendanceTally {
                        registered: Figure::new(
                            n("registered")?,
                            n("registered_own")?,
                            n("registered_key")?,
                        ),
                        present: Figure::new(n("present")?, n("present_own")?, n("present_key")?),
                    },
                );
            }
        }
        Ok(out)
    }
}

/// The registered attendance of a session (people with an attendance
/// record), as the viewer may see it. Exact for viewers with full rights
/// on every person registered (ADMIN, the providers of the run, a LEADER
/// whose staff they all are, a FUNDER whose counties their services
/// cover); for everyone else each figure is perturbed by the cell key
/// method (the same figure as `participationStats` gives for the same
/// records), figures below 5 are withheld, and when `registered` is
/// withheld so are the others.
// The decision is the policy's (`AttendanceTally::protect`); this type
// only shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, SimpleObject)]
pub struct AttendanceSummary {
    /// People registered for the session, present or absent; null when
    /// suppressed.
    pub registered: Option<i64>,
    /// People registered as present; null when suppressed.
    pub present: Option<i64>,
    /// People registered as absent; null when suppressed. Each figure is
    /// protected in its own right, so for viewers without full rights
    /// `present + absent` may differ from `registered`.
    pub absent: Option<i64>,
    /// Whether any figure above is withheld.
    pub suppressed: bool,
}

impl From<ShownAttendance> for AttendanceSummary {
    fn from(shown: ShownAttendance) -> Self {
        Self {
            registered: shown.registered.value(),
            present: shown.present.value(),
            absent: shown.absent.value(),
            suppressed: shown.is_suppressed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy::disclosure::Figure;

    #[test]
    fn the_summary_shows_what_the_policy_decided() {
        let full = AttendanceTally {
            registered: Figure::new(3, 3, 100),
            present: Figure::new(2, 2, 60),
        };
        assert_eq!(
            AttendanceSummary::from(full.protect()),
            AttendanceSummary {
                registered: Some(3),
                present: Some(2),
                absent: Some(1),
                suppressed: false
            }
        );
        let small = AttendanceTally {
            registered: Figure::new(1, 0, 0),
            present: Figure::new(1, 0, 0),
        };
        let shown = AttendanceSummary::from(small.protect());
        assert_eq!(shown.suppressed, shown.registered.is_none());
        assert_ne!(shown.registered, Some(1));
    }
}
