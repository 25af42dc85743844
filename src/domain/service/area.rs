//! SQL building blocks for "in this county" and "in this municipality"
//! filters of services, networks and runs.
//!
//! Municipalities change: 0821 Bø and 0822 Sauherad became 3817
//! Midt-Telemark in 2020, which became 4020 in Telemark in 2024. A service
//! registered as covering Bø still serves land that is in Telemark today,
//! so an area matches its own municipalities *and the ended municipalities
//! that became part of them* (followed through up to [`HISTORY_DEPTH`]
//! steps of `municipality_successor`). Everything here is a subquery, so
//! that `totalCount` and the pages of a connection are computed under the
//! same filter.

use entity::{municipality, municipality_successor, service_municipality};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// How many successor steps are followed back from a municipality
/// (0821 → 3817 → 4020 is two).
pub const HISTORY_DEPTH: usize = 3;

/// A place that list filters narrow to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// A county, by id: its municipalities and their predecessors.
    County(Uuid),
    /// A municipality, by id: it and its predecessors.
    Municipality(Uuid),
}

impl Area {
    /// The ids of the municipalities of the area proper (without history).
    fn base(&self) -> SelectStatement {
        let mut q = Query::select();
        q.column(municipality::Column::Id)
            .from(municipality::Entity);
        match *self {
            Area::County(id) => q.and_where(municipality::Column::CountyId.eq(id)),
            Area::Municipality(id) => q.and_where(municipality::Column::Id.eq(id)),
        };
        q
    }

    /// A condition that `col` (a municipality id) lies in the area: it is
    /// one of the area's municipalities or one that became part of them.
    pub fn contains_municipality<C: ColumnTrait>(&self, col: C) -> Condition {
        let mut level = self.base();
        let mut any = Condition::any().add(col.in_subquery(level.clone()));
        for _ in 0..HISTORY_DEPTH {
            level = Query::select()
                .column(municipality_successor::Column::MunicipalityId)
                .from(municipality_successor::Entity)
                .and_where(municipality_successor::Column::SuccessorId.in_subquery(level))
                .to_owned();
            any = any.add(col.in_subquery(level.clone()));
        }
        any
    }

    /// The ids of the services that cover a municipality in the area.
    pub fn covering_services(&self) -> SelectStatement {
        Query::select()
            .distinct()
            .column(service_municipality::Column::ServiceId)
            .from(service_municipality::Entity)
            .cond_where(self.contains_municipality(service_municipality::Column::MunicipalityId))
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    #[test]
    fn county_follows_history_on_both_engines() {
        let id = Uuid::nil();
        let q = Area::County(id).covering_services();
        for sql in [
            q.to_string(SqliteQueryBuilder),
            q.to_string(PostgresQueryBuilder),
        ] {
            // The area proper, then one more nested level per history step.
            let levels = sql.matches("FROM \"municipality_successor\"").count();
            assert_eq!(levels, 1 + 2 + 3, "{sql}");
            let bases = sql.matches("\"county_id\" =").count();
            assert_eq!(bases, 1 + HISTORY_DEPTH, "{sql}");
            assert!(sql.starts_with("SELECT DISTINCT \"service_id\""), "{sql}");
        }
    }

    #[test]
    fn municipality_matches_itself_and_predecessors() {
        let q = Area::Municipality(Uuid::nil()).covering_services();
        let sql = q.to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"municipality\".\"id\" ="), "{sql}");
        assert!(sql.contains("\"successor_id\" IN"), "{sql}");
    }
}
