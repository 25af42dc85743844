//! SQL over `funding_grant` rows for what is derived rather than stored:
//! the recipient's county, the programme a grant pays for, and the
//! attendance recorded for the recipient at the grant's run (from the
//! statistics tally of the run). All of it runs on SQLite and PostgreSQL
//! alike, in two shapes:
//!
//! - expressions for a filter on `funding_grant` ([`recipient_county`],
//!   [`grant_programme`]): correlated subqueries, each guarded so that it
//!   only runs for the recipient column it reads;
//! - joins for a statement over many grants ([`join_recipient_county`],
//!   [`join_grant_programme`], [`join_recipient_tally`]): `LEFT JOIN`s of
//!   base tables on their keys, with the tests on the recipient's services
//!   as uncorrelated `IN` subqueries (built once per statement), so that
//!   a statement over thousands of grants reads each table once instead of
//!   running a handful of subqueries per grant. None of them joins a
//!   derived table, so a misestimated row count can cost an index lookup
//!   per row at worst, never an aggregate re-run per row.
//!
//! Both shapes follow the same rules; `tests/grants.rs` checks the answers.

use chrono::NaiveDate;
use entity::{
    funding_grant, municipality, network, network_member, programme_run, service,
    service_municipality, stats_run_service,
};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, IntoIden, JoinType, Query, SelectStatement,
};
use sea_orm::{ColumnTrait, Condition, EntityName, Order};

use crate::auth::Viewer;
use crate::auth::policy::disclosure::Figure;
use crate::auth::policy::statistics::{own_people_facts, services_of_offices};

/// A column of the grant row: of `funding_grant` itself, or of a derived
/// table named `grant` that carries `funding_grant`'s columns under their
/// own names.
fn column_of(grant: &str, col: funding_grant::Column) -> Expr {
    Expr::col((Alias::new(grant), col))
}

fn grant_col(col: funding_grant::Column) -> Expr {
    column_of(funding_grant::Entity.table_name(), col)
}

/// A column of a table joined under `alias`.
fn aliased(alias: &str, col: impl IntoIden) -> Expr {
    Expr::col((Alias::new(alias), col))
}

fn bigint(e: impl Into<Expr>) -> Expr {
    Func::cast_as(e.into(), Alias::new("BIGINT")).into()
}

/// `then` where `key` is set, else `NULL`: a subquery keyed on a recipient
/// column runs only for the grants that name that kind of recipient (for
/// the others it would find nothing anyway).
fn when_set(key: Expr, then: SelectStatement) -> Expr {
    Expr::case(key.is_not_null(), Expr::from(then)).into()
}

/// The county of the first municipality (by number) that the recipient
/// service `service` covers: the county of a service without a host
/// municipality. `NULL` for no service.
fn first_covered_county(service: Expr) -> Expr {
    let sub = Query::select()
        .column((municipality::Entity, municipality::Column::CountyId))
        .from(service_municipality::Entity)
        .inner_join(
            municipality::Entity,
            Expr::col((municipality::Entity, municipality::Column::Id)).equals((
                service_municipality::Entity,
                service_municipality::Column::MunicipalityId,
            )),
        )
        .and_where(
            Expr::col((
                service_municipality::Entity,
                service_municipality::Column::ServiceId,
            ))
            .eq(service.clone()),
        )
        .order_by(
            (municipality::Entity, municipality::Column::Number),
            Order::Asc,
        )
        .limit(1)
        .to_owned();
    when_set(service, sub)
}

/// The county of a grant's recipient: the municipality's county, the
/// network's county, or the county of the service's host municipality (for
/// a service without a host, the county of the first municipality it
/// covers, by number). `NULL` for a national network.
///
/// A correlated expression on `funding_grant`, for filters. Each subquery
/// is guarded by `CASE WHEN <its recipient column> IS NOT NULL`, so a grant
/// runs the lookups of its own kind of recipient only (a lookup by a
/// `NULL` key finds nothing, so the answer is the same). For a statement
/// over many grants, [`join_recipient_county`] gives the same county by
/// joins.
pub fn recipient_county() -> Expr {
    let of_municipality = Query::select()
        .column((municipality::Entity, municipality::Column::CountyId))
        .from(municipality::Entity)
        .and_where(
            Expr::col((municipality::Entity, municipality::Column::Id))
                .eq(grant_col(funding_grant::Column::RecipientMunicipalityId)),
        )
        .to_owned();
    let of_network = Query::select()
        .column((network::Entity, network::Column::CountyId))
        .from(network::Entity)
        .and_where(
            Expr::col((network::Entity, network::Column::Id))
                .eq(grant_col(funding_grant::Column::RecipientNetworkId)),
        )
        .to_owned();
    let of_host = Query::select()
        .column((municipality::Entity, municipality::Column::CountyId))
        .from(service::Entity)
        .inner_join(
            municipality::Entity,
            Expr::col((municipality::Entity, municipality::Column::Id))
                .equals((service::Entity, service::Column::HostMunicipalityId)),
        )
        .and_where(
            Expr::col((service::Entity, service::Column::Id))
                .eq(grant_col(funding_grant::Column::RecipientServiceId)),
        )
        .to_owned();
    Func::coalesce([
        when_set(
            grant_col(funding_grant::Column::RecipientMunicipalityId),
            of_municipality,
        ),
        when_set(
            grant_col(funding_grant::Column::RecipientNetworkId),
            of_network,
        ),
        when_set(
            grant_col(funding_grant::Column::RecipientServiceId),
            of_host,
        ),
        first_covered_county(grant_col(funding_grant::Column::RecipientServiceId)),
    ])
    .into()
}

/// [`recipient_county`] by joins, for a statement over the grant rows of
/// `grant` (`funding_grant`, or a derived table with its recipient
/// columns): adds to `query` a `LEFT JOIN` of the recipient municipality,
/// the recipient network, the recipient service and that service's host
/// municipality (each on its primary key, so the grant rows stay one each)
/// and returns `COALESCE(municipality's county, network's county, host's
/// county, first covered municipality's county)`. Only the last, for a
/// service without a host, is still a subquery; `COALESCE` runs it only
/// when the joins found no county.
pub fn join_recipient_county(query: &mut SelectStatement, grant: &str) -> Expr {
    const MUNICIPALITY: &str = "recipient_municipality";
    const NETWORK: &str = "recipient_network";
    const SERVICE: &str = "recipient_service";
    const HOST: &str = "recipient_host";
    let of = |col| column_of(grant, col);
    query
        .join_as(
            JoinType::LeftJoin,
            municipality::Entity,
            Alias::new(MUNICIPALITY),
            aliased(MUNICIPALITY, municipality::Column::Id)
                .eq(of(funding_grant::Column::RecipientMunicipalityId)),
        )
        .join_as(
            JoinType::LeftJoin,
            network::Entity,
            Alias::new(NETWORK),
            aliased(NETWORK, network::Column::Id).eq(of(funding_grant::Column::RecipientNetworkId)),
        )
        .join_as(
            JoinType::LeftJoin,
            service::Entity,
            Alias::new(SERVICE),
            aliased(SERVICE, service::Column::Id).eq(of(funding_grant::Column::RecipientServiceId)),
        )
        .join_as(
            JoinType::LeftJoin,
            municipality::Entity,
            Alias::new(HOST),
            aliased(HOST, municipality::Column::Id)
                .eq(aliased(SERVICE, service::Column::HostMunicipalityId)),
        );
    Func::coalesce([
        aliased(MUNICIPALITY, municipality::Column::CountyId),
        aliased(NETWORK, network::Column::CountyId),
        aliased(HOST, municipality::Column::CountyId),
        first_covered_county(of(funding_grant::Column::RecipientServiceId)),
    ])
    .into()
}

/// The programme a grant pays for: the one it names, else its run's.
/// A correlated expression on `funding_grant`, for filters;
/// [`join_grant_programme`] is the same by a join.
pub fn grant_programme() -> Expr {
    let of_run = Query::select()
        .column((programme_run::Entity, programme_run::Column::ProgrammeId))
        .from(programme_run::Entity)
        .and_where(
            Expr::col((programme_run::Entity, programme_run::Column::Id))
                .eq(grant_col(funding_grant::Column::RunId)),
        )
        .to_owned();
    Func::coalesce([
        grant_col(funding_grant::Column::ProgrammeId),
        Expr::from(of_run),
    ])
    .into()
}

/// [`grant_programme`] by a join, for a statement over the grant rows of
/// `grant` (`funding_grant`, or a derived table with its `programme_id`
/// and `run_id`): adds a `LEFT JOIN` of the grant's run (on its primary
/// key) and returns `COALESCE(the grant's programme, the run's)`.
pub fn join_grant_programme(query: &mut SelectStatement, grant: &str) -> Expr {
    const RUN: &str = "grant_run";
    query.join_as(
        JoinType::LeftJoin,
        programme_run::Entity,
        Alias::new(RUN),
        aliased(RUN, programme_run::Column::Id).eq(column_of(grant, funding_grant::Column::RunId)),
    );
    Func::coalesce([
        column_of(grant, funding_grant::Column::ProgrammeId),
        aliased(RUN, programme_run::Column::ProgrammeId),
    ])
    .into()
}

/// Whether the service of the tally row `row` is one of the grant's
/// recipient's services: the recipient service; a member service of the
/// recipient network whose membership is current on `today`; a service of
/// the recipient municipality, covering it or hosted there. Each set is an
/// uncorrelated row-value `IN` rather than a subquery on the grant's
/// columns:
///
/// ```sql
/// row.service_id = grant.recipient_service_id
/// OR (grant.recipient_network_id, row.service_id)
///      IN (SELECT network_id, service_id FROM network_member WHERE <current>)
/// OR (row.service_id, grant.recipient_municipality_id)
///      IN (SELECT service_id, municipality_id FROM service_municipality)
/// OR (row.service_id, grant.recipient_municipality_id)
///      IN (SELECT id, host_municipality_id FROM service)
/// ```
///
/// Being uncorrelated, each `IN` list is built once per statement (a
/// hashed subplan on PostgreSQL, an ephemeral index on SQLite) and probed
/// per row. It tests a row, so a service counts once however many ways it
/// belongs to the recipient (covering a municipality and hosted there,
/// covering several, a member twice). For a grant without that kind of
/// recipient (a `NULL` column) a test is unknown, which, like false, does
/// not admit the row.
fn is_recipients_service(row: &str, today: NaiveDate) -> Condition {
    let service = || aliased(row, stats_run_service::Column::ServiceId);
    let members = Query::select()
        .column((network_member::Entity, network_member::Column::NetworkId))
        .column((network_member::Entity, network_member::Column::ServiceId))
        .from(network_member::Entity)
        .cond_where(crate::domain::network::current_members(today))
        .to_owned();
    let covering = Query::select()
        .column((
            service_municipality::Entity,
            service_municipality::Column::ServiceId,
        ))
        .column((
            service_municipality::Entity,
            service_municipality::Column::MunicipalityId,
        ))
        .from(service_municipality::Entity)
        .to_owned();
    let hosted = Query::select()
        .column((service::Entity, service::Column::Id))
        .column((service::Entity, service::Column::HostMunicipalityId))
        .from(service::Entity)
        .to_owned();
    Condition::any()
        .add(service().eq(grant_col(funding_grant::Column::RecipientServiceId)))
        .add(
            Expr::tuple([
                grant_col(funding_grant::Column::RecipientNetworkId),
                service(),
            ])
            .in_subquery(members),
        )
        .add(
            Expr::tuple([
                service(),
                grant_col(funding_grant::Column::RecipientMunicipalityId),
            ])
            .in_subquery(covering),
        )
        .add(
            Expr::tuple([
                service(),
                grant_col(funding_grant::Column::RecipientMunicipalityId),
            ])
            .in_subquery(hosted),
        )
}

/// The attendance recorded for the recipient at the grant's run, for a
/// statement over `funding_grant` (unaliased) that groups by
/// `funding_grant.id`: adds to `query`
///
/// ```sql
/// LEFT JOIN stats_run_service AS tally_row
///   ON tally_row.run_id = funding_grant.run_id
///  AND <tally_row.service_id is one of the recipient's services>
/// ```
///
/// (the statistics tally of the grant's run, kept by the writes in step
/// with attendance, one row per service: a handful per grant, found by the
/// tally's key), and the grant's run, and returns the aggregates
/// ([`RecipientTally`]):
/// `COALESCE(SUM(recorded), 0)`, the attendance rows (present or absent)
/// recorded for the recipient's people at the grant's run, and
/// `COALESCE(SUM(attendees), 0)`, the distinct persons of the recipient
/// recorded present at any session of it. Both are 0 where the grant names
/// no run or nothing is recorded (the outer join keeps such a grant as one
/// row with no tally). A person belongs to one service, so sums over
/// services count no one twice. Attendance counts as known for a grant
/// when `recorded` is above 0.
///
/// The recipient's services are the recipient service; the member
/// services of the recipient network whose membership is current on
/// `today`; the services of the recipient municipality, covering it or
/// hosted there. Each is tested as an uncorrelated row-value `IN` list
/// (built once per statement), so a service counts once however many ways
/// it belongs to the recipient.
pub fn join_recipient_tally(
    query: &mut SelectStatement,
    today: NaiveDate,
    viewer: &Viewer,
) -> RecipientTally {
    const ROW: &str = "tally_row";
    const RUN: &str = "tally_run";
    query
        .join_as(
            JoinType::LeftJoin,
            stats_run_service::Entity,
            Alias::new(ROW),
            Condition::all()
                .add(
                    aliased(ROW, stats_run_service::Column::RunId)
                        .eq(grant_col(funding_grant::Column::RunId)),
                )
                .add(is_recipients_service(ROW, today)),
        )
        .join_as(
            JoinType::LeftJoin,
            programme_run::Entity,
            Alias::new(RUN),
            aliased(RUN, programme_run::Column::Id).eq(grant_col(funding_grant::Column::RunId)),
        );
    let sum = |e: Expr| -> Expr { Func::coalesce([Func::sum(e).into(), Expr::val(0)]).into() };
    let own = own_people_facts(
        viewer,
        aliased(RUN, programme_run::Column::ProgrammeId),
        aliased(ROW, stats_run_service::Column::ServiceId),
        services_of_offices,
    )
    .flag();
    RecipientTally {
        recorded: sum(aliased(ROW, stats_run_service::Column::Recorded)),
        present: sum(aliased(ROW, stats_run_service::Column::Attendees)),
        present_own: sum(aliased(ROW, stats_run_service::Column::Attendees).mul(own)),
        present_key: sum(aliased(ROW, stats_run_service::Column::AttendeesKey)),
    }
}

/// The aggregates of [`join_recipient_tally`].
pub struct RecipientTally {
    /// Attendance rows (present or absent) of the recipient's people.
    pub recorded: Expr,
    /// Distinct persons of the recipient recorded present.
    pub present: Expr,
    /// The part of `present` within the viewer's rights.
    pub present_own: Expr,
    /// The sum of the record keys behind `present`.
    pub present_key: Expr,
}

/// The attendance recorded for a grant's recipient at its run: attendance
/// rows (present or absent), and distinct persons present as a figure for
/// disclosure control, by the same SQL as the grant totals
/// ([`join_recipient_tally`]), grouped by the one grant.
pub async fn attendance_of_grant(
    db: &impl sea_orm::ConnectionTrait,
    viewer: &Viewer,
    grant_id: uuid::Uuid,
) -> crate::error::ApiResult<(i64, Figure)> {
    let mut stmt = Query::select();
    stmt.from(funding_grant::Entity);
    let t = join_recipient_tally(&mut stmt, crate::domain::network::today(), viewer);
    stmt.expr_as(bigint(t.recorded), Alias::new("recorded"))
        .expr_as(bigint(t.present), Alias::new("present"))
        .expr_as(bigint(t.present_own), Alias::new("present_own"))
        .expr_as(bigint(t.present_key), Alias::new("present_key"))
        .cond_where(funding_grant::Column::Id.eq(grant_id))
        .group_by_col((funding_grant::Entity, funding_grant::Column::Id));
    let row = db
        .query_one(&stmt)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("grant"))?;
    Ok((
        row.try_get("", "recorded")?,
        Figure::new(
            row.try_get("", "present")?,
            row.try_get("", "present_own")?,
            row.try_get("", "present_key")?,
        ),
    ))
}
