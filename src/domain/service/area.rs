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
//!
//! The statistics need the other direction: every service with the
//! *current* municipalities it covers. That is kept in the table
//! `service_area` ([`current_coverage`] defines it, [`refresh_coverage`]
//! rebuilds it), so that a statistics request joins a table instead of
//! following the history again.

use entity::{municipality, municipality_successor, service, service_area, service_municipality};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, JoinType, TransactionSession,
    TransactionTrait,
};
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

/// Pairs (`from_id`, `current_id`): every municipality that is current or
/// became part of a current one within [`HISTORY_DEPTH`] steps, with the
/// current municipality it is part of today (several for one that was
/// split).
fn current_municipalities() -> SelectStatement {
    let col = |table: &str, column: &str| Expr::col((Alias::new(table), Alias::new(column)));
    let level = |depth: usize| -> SelectStatement {
        let mut q = Query::select();
        if depth == 0 {
            q.expr_as(col("m", "id"), Alias::new("from_id"))
                .from_as(municipality::Entity, Alias::new("m"));
        } else {
            q.expr_as(col("h1", "municipality_id"), Alias::new("from_id"))
                .from_as(municipality_successor::Entity, Alias::new("h1"));
            for step in 2..=depth {
                let (prev, this) = (format!("h{}", step - 1), format!("h{step}"));
                q.join_as(
                    JoinType::InnerJoin,
                    municipality_successor::Entity,
                    Alias::new(&this),
                    col(&this, "municipality_id")
                        .equals((Alias::new(&prev), Alias::new("successor_id"))),
                );
            }
            q.join_as(
                JoinType::InnerJoin,
                municipality::Entity,
                Alias::new("m"),
                col("m", "id")
                    .equals((Alias::new(format!("h{depth}")), Alias::new("successor_id"))),
            );
        }
        q.expr_as(col("m", "id"), Alias::new("current_id"))
            .and_where(col("m", "valid_to").is_null());
        q
    };
    let mut q = level(0);
    for depth in 1..=HISTORY_DEPTH {
        q.union(UnionType::Distinct, level(depth));
    }
    q
}

/// The rows of `service_area` (`service_id`, `municipality_id`,
/// `county_id`): each service with the current municipalities it covers
/// (its registered municipalities and its host municipality, followed
/// through their history) and their counties.
pub fn current_coverage() -> SelectStatement {
    let col = |table: &str, column: &str| Expr::col((Alias::new(table), Alias::new(column)));
    let mut covered = Query::select();
    covered
        .column(service_municipality::Column::ServiceId)
        .column(service_municipality::Column::MunicipalityId)
        .from(service_municipality::Entity);
    covered.union(
        UnionType::Distinct,
        Query::select()
            .expr_as(Expr::col(service::Column::Id), Alias::new("service_id"))
            .expr_as(
                Expr::col(service::Column::HostMunicipalityId),
                Alias::new("municipality_id"),
            )
            .from(service::Entity)
            .and_where(Expr::col(service::Column::HostMunicipalityId).is_not_null())
            .to_owned(),
    );
    Query::select()
        .distinct()
        .expr_as(col("c", "service_id"), Alias::new("service_id"))
        .expr_as(col("cur", "current_id"), Alias::new("municipality_id"))
        .expr_as(col("m", "county_id"), Alias::new("county_id"))
        .from_subquery(covered, Alias::new("c"))
        .join_subquery(
            JoinType::InnerJoin,
            current_municipalities(),
            Alias::new("cur"),
            col("cur", "from_id").equals((Alias::new("c"), Alias::new("municipality_id"))),
        )
        .join_as(
            JoinType::InnerJoin,
            municipality::Entity,
            Alias::new("m"),
            col("m", "id").equals((Alias::new("cur"), Alias::new("current_id"))),
        )
        .to_owned()
}

/// Rebuilds `service_area` from the services, their coverage and the
/// municipality history. Call it in the transaction of every write to
/// `service`, `service_municipality`, `municipality` or
/// `municipality_successor` (today only the seeds write them). It runs in
/// a transaction of its own (a savepoint inside the caller's), so readers
/// never see the table half rebuilt; two statements, a few thousand rows.
pub async fn refresh_coverage<C>(db: &C) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // One rebuild at a time (readers are not blocked): a second one
        // waits, then deletes what the first inserted.
        txn.execute_unprepared("LOCK TABLE service_area IN EXCLUSIVE MODE")
            .await?;
    }
    txn.execute(&Query::delete().from_table(service_area::Entity).to_owned())
        .await?;
    let insert = Query::insert()
        .into_table(service_area::Entity)
        .columns([
            service_area::Column::ServiceId,
            service_area::Column::MunicipalityId,
            service_area::Column::CountyId,
        ])
        .select_from(current_coverage())
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    txn.execute(&insert).await?;
    txn.commit().await
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
