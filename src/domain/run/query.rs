//! Root lists of runs and sessions, with their filters and orderings.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::NaiveDate;
use entity::enums::{Audience, EnrolmentStatus, RunStatus, SessionKind};
use entity::{enrolment, network, programme_provider, programme_run, session};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::{ProgrammeRun, Session};
use crate::domain::geography::{county_id_by_number, municipality_id_by_number};
use crate::domain::network::{network_id_by_slug, networks_in};
use crate::domain::programme::programme_id_by_slug;
use crate::domain::provider::provider_id_by_slug;
use crate::domain::service::{Area, service_id_by_slug};
use crate::domain::{OrderDirection, text_search};
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, asc, by, page_cost, paginate};
use crate::graphql::{ContextExt, id};

/// Which runs to list.
#[derive(Debug, Default, InputObject)]
pub struct RunFilter {
    /// Part of the title (case-insensitive).
    pub search: Option<String>,
    /// Only runs of this programme (its global id or slug).
    pub programme: Option<String>,
    /// Only runs of programmes this provider (its global id or slug) leads or is a
    /// partner in.
    pub provider: Option<String>,
    /// Only runs organised for this network (its global id or slug).
    pub network: Option<String>,
    /// Only runs this service (its global id or slug) is enrolled in (not withdrawn).
    pub service: Option<String>,
    /// Only runs for this municipality (its global id or four-digit number): an enrolled
    /// service, or a current member of the run's network, covers it (or a
    /// municipality that became part of it).
    pub municipality: Option<String>,
    /// Only runs in this county (its global id or two-digit number): the run's network
    /// belongs to the county, or an enrolled service or a current member of
    /// the network covers a municipality of it.
    pub county: Option<String>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs of this (starting) year.
    pub year: Option<i32>,
}

/// Fields to sort runs by. Unknown values come last in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum RunOrderField {
    /// Year, then start date, then title.
    Year,
    /// Start date, then title.
    StartsOn,
    /// Title.
    Title,
}

/// Ordering of a run list.
#[derive(Debug, InputObject)]
pub struct RunOrder {
    /// The field to sort by.
    pub field: RunOrderField,
    /// Ascending (the default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which sessions to list.
#[derive(Debug, Default, InputObject)]
pub struct SessionFilter {
    /// Part of the title or place (case-insensitive).
    pub search: Option<String>,
    /// Only sessions of this run (the global id of a `ProgrammeRun`).
    pub run: Option<ID>,
    /// Only sessions of runs of this programme (its global id or slug).
    pub programme: Option<String>,
    /// Only sessions of this kind.
    pub kind: Option<SessionKind>,
    /// Only sessions for this audience.
    pub audience: Option<Audience>,
    /// Only sessions in this year: dated sessions by their date, undated
    /// ones by their run's year.
    pub year: Option<i32>,
}

/// Fields to sort sessions by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SessionOrderField {
    /// Date and start time; undated sessions last in both directions.
    Date,
    /// Grouped by run, in their order within the run.
    Position,
}

/// Ordering of a session list.
#[derive(Debug, InputObject)]
pub struct SessionOrder {
    /// The field to sort by.
    pub field: SessionOrderField,
    /// Ascending (the default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Root fields of runs and sessions.
#[derive(Default)]
pub struct RunQuery;

#[Object]
impl RunQuery {
    /// Programme runs, by default by year and start date (unknown ones
    /// last). A single run is fetched with `node(id:)`.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        filter: Option<RunFilter>,
        order_by: Option<RunOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<ProgrammeRun>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = programme_run::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[programme_run::Column::Title],
        )?);
        if let Some(slug) = filter.programme {
            let id = programme_id_by_slug(db, &slug, "filter.programme").await?;
            select = select.filter(programme_run::Column::ProgrammeId.eq(id));
        }
        if let Some(slug) = filter.provider {
            let id = provider_id_by_slug(db, &slug, "filter.provider").await?;
            select = select.filter(
                programme_run::Column::ProgrammeId.in_subquery(
                    Query::select()
                        .column(programme_provider::Column::ProgrammeId)
                        .from(programme_provider::Entity)
                        .and_where(programme_provider::Column::ProviderId.eq(id))
                        .to_owned(),
                ),
            );
        }
        if let Some(slug) = filter.network {
            let id = network_id_by_slug(db, &slug, "filter.network").await?;
            select = select.filter(programme_run::Column::NetworkId.eq(id));
        }
        if let Some(slug) = filter.service {
            let id = service_id_by_slug(db, &slug, "filter.service").await?;
            select = select.filter(
                programme_run::Column::Id.in_subquery(
                    enrolled_runs()
                        .and_where(enrolment::Column::ServiceId.eq(id))
                        .to_owned(),
                ),
            );
        }
        if let Some(number) = filter.municipality {
            let id = municipality_id_by_number(db, &number, "filter.municipality").await?;
            select = select.filter(runs_in(&Area::Municipality(id)));
        }
        if let Some(number) = filter.county {
            let id = county_id_by_number(db, &number, "filter.county").await?;
            select = select.filter(runs_in(&Area::County(id)));
        }
        if let Some(status) = filter.status {
            select = select.filter(programme_run::Column::Status.eq(status));
        }
        if let Some(year) = filter.year {
            check_year(year, "filter.year")?;
            select = select.filter(programme_run::Column::Year.eq(year));
        }
        let (field, dir) = order_by.map_or((RunOrderField::Year, OrderDirection::Asc), |o| {
            (o.field, o.direction)
        });
        use programme_run::Column as C;
        let keys = match field {
            RunOrderField::Year => vec![
                by(C::Year, dir),
                by(C::StartsOn, dir),
                asc(C::Title),
                asc(C::Id),
            ],
            RunOrderField::StartsOn => vec![by(C::StartsOn, dir), asc(C::Title), asc(C::Id)],
            RunOrderField::Title => vec![by(C::Title, dir), asc(C::Id)],
        };
        paginate(
            db,
            select,
            &keys,
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// Sessions of all runs, by default by date (undated ones last).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SessionFilter>,
        order_by: Option<SessionOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Session>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = session::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[session::Column::Title, session::Column::Place],
        )?);
        if let Some(raw) = filter.run {
            let run_id = id::decode_as(&raw, "ProgrammeRun", "filter.run")?;
            select = select.filter(session::Column::RunId.eq(run_id));
        }
        if let Some(slug) = filter.programme {
            let id = programme_id_by_slug(db, &slug, "filter.programme").await?;
            select = select.filter(
                session::Column::RunId.in_subquery(
                    Query::select()
                        .column(programme_run::Column::Id)
                        .from(programme_run::Entity)
                        .and_where(programme_run::Column::ProgrammeId.eq(id))
                        .to_owned(),
                ),
            );
        }
        if let Some(kind) = filter.kind {
            select = select.filter(session::Column::Kind.eq(kind));
        }
        if let Some(audience) = filter.audience {
            select = select.filter(session::Column::Audience.eq(audience));
        }
        if let Some(year) = filter.year {
            check_year(year, "filter.year")?;
            select = select.filter(sessions_in_year(year)?);
        }
        let (field, dir) = order_by.map_or((SessionOrderField::Date, OrderDirection::Asc), |o| {
            (o.field, o.direction)
        });
        use session::Column as C;
        let keys = match field {
            SessionOrderField::Date => vec![
                by(C::Date, dir),
                by(C::StartsAt, dir),
                asc(C::Position),
                asc(C::Id),
            ],
            SessionOrderField::Position => vec![asc(C::RunId), by(C::Position, dir), asc(C::Id)],
        };
        paginate(
            db,
            select,
            &keys,
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }
}

/// `SELECT run_id FROM enrolment WHERE status = 'ENROLLED'`, to narrow.
fn enrolled_runs() -> SelectStatement {
    Query::select()
        .column(enrolment::Column::RunId)
        .from(enrolment::Entity)
        .and_where(enrolment::Column::Status.eq(EnrolmentStatus::Enrolled))
        .to_owned()
}

/// A condition on `programme_run`: the run's network is in the area (see
/// [`networks_in`]) or a service covering the area is enrolled.
fn runs_in(area: &Area) -> Condition {
    let networks = Query::select()
        .column(network::Column::Id)
        .from(network::Entity)
        .cond_where(networks_in(area))
        .to_owned();
    let enrolled = enrolled_runs()
        .and_where(enrolment::Column::ServiceId.in_subquery(area.covering_services()))
        .to_owned();
    Condition::any()
        .add(programme_run::Column::NetworkId.in_subquery(networks))
        .add(programme_run::Column::Id.in_subquery(enrolled))
}

/// A condition on `session`: dated in `year`, or undated in a run of `year`.
fn sessions_in_year(year: i32) -> ApiResult<Condition> {
    let bad = || ApiError::bad_input("filter.year", "not a valid year");
    let from = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(bad)?;
    let to = NaiveDate::from_ymd_opt(year + 1, 1, 1).ok_or_else(bad)?;
    Ok(Condition::any()
        .add(
            Condition::all()
                .add(session::Column::Date.gte(from))
                .add(session::Column::Date.lt(to)),
        )
        .add(
            Condition::all().add(session::Column::Date.is_null()).add(
                session::Column::RunId.in_subquery(
                    Query::select()
                        .column(programme_run::Column::Id)
                        .from(programme_run::Entity)
                        .and_where(programme_run::Column::Year.eq(year))
                        .to_owned(),
                ),
            ),
        ))
}

/// Years accepted by filters.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

fn check_year(year: i32, field: &str) -> ApiResult<()> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            field,
            format!(
                "`{field}` must be a year from {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    #[test]
    fn years() {
        assert!(check_year(2022, "filter.year").is_ok());
        assert_eq!(
            check_year(22, "filter.year").unwrap_err().code(),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            check_year(i32::MAX, "filter.year").unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }

    #[test]
    fn session_year_covers_undated_sessions_of_the_run_year() {
        let q = Query::select()
            .column(session::Column::Id)
            .from(session::Entity)
            .cond_where(sessions_in_year(2022).unwrap())
            .to_owned();
        for sql in [
            q.to_string(SqliteQueryBuilder),
            q.to_string(PostgresQueryBuilder),
        ] {
            assert!(sql.contains("'2022-01-01'"), "{sql}");
            assert!(sql.contains("'2023-01-01'"), "{sql}");
            assert!(sql.contains("\"date\" IS NULL"), "{sql}");
            assert!(sql.contains("\"year\" = 2022"), "{sql}");
        }
    }

    #[test]
    fn county_runs_via_network_or_enrolment() {
        let q = Query::select()
            .column(programme_run::Column::Id)
            .from(programme_run::Entity)
            .cond_where(runs_in(&Area::County(uuid::Uuid::nil())))
            .to_owned();
        let sql = q.to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"network_id\" IN"), "{sql}");
        assert!(sql.contains("'ENROLLED'"), "{sql}");
    }
}
