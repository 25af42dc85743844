//! SQL expressions over `funding_grant` rows that are derived rather than
//! stored: the recipient's county, the programme a grant pays for, and the
//! attendance recorded for the recipient at the grant's run (from the
//! statistics tally of the run). Each is a
//! correlated subquery on the columns of `funding_grant`, so it can appear
//! in a filter, a select list or a derived table, on SQLite and PostgreSQL
//! alike.

use chrono::NaiveDate;
use entity::{
    funding_grant, municipality, network, network_member, programme_run, service,
    service_municipality, stats_run_service,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{Condition, Order};

fn grant_col(col: funding_grant::Column) -> Expr {
    Expr::col((funding_grant::Entity, col))
}

/// The county of a grant's recipient: the municipality's county, the
/// network's county, or the county of the service's host municipality (for
/// a service without a host, the county of the first municipality it
/// covers, by number). `NULL` for a national network.
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
    let of_coverage = Query::select()
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
            .eq(grant_col(funding_grant::Column::RecipientServiceId)),
        )
        .order_by(
            (municipality::Entity, municipality::Column::Number),
            Order::Asc,
        )
        .limit(1)
        .to_owned();
    Func::coalesce([
        Expr::from(of_municipality),
        Expr::from(of_network),
        Expr::from(of_host),
        Expr::from(of_coverage),
    ])
    .into()
}

/// The programme a grant pays for: the one it names, else its run's.
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

/// The services whose staff count as the recipient's people, as a
/// condition on `service` (a service id column): the recipient service;
/// the current member services of a recipient network (on `today`); the
/// services of a recipient municipality (hosted by it or covering it).
fn service_of_recipient(service: Expr, today: NaiveDate) -> Condition {
    let members = Query::select()
        .column((network_member::Entity, network_member::Column::ServiceId))
        .from(network_member::Entity)
        .and_where(
            Expr::col((network_member::Entity, network_member::Column::NetworkId))
                .eq(grant_col(funding_grant::Column::RecipientNetworkId)),
        )
        .cond_where(
            Condition::any()
                .add(
                    Expr::col((network_member::Entity, network_member::Column::JoinedOn)).is_null(),
                )
                .add(
                    Expr::col((network_member::Entity, network_member::Column::JoinedOn))
                        .lte(today),
                ),
        )
        .cond_where(
            Condition::any()
                .add(Expr::col((network_member::Entity, network_member::Column::LeftOn)).is_null())
                .add(Expr::col((network_member::Entity, network_member::Column::LeftOn)).gt(today)),
        )
        .to_owned();
    let covering = Query::select()
        .column((
            service_municipality::Entity,
            service_municipality::Column::ServiceId,
        ))
        .from(service_municipality::Entity)
        .and_where(
            Expr::col((
                service_municipality::Entity,
                service_municipality::Column::MunicipalityId,
            ))
            .eq(grant_col(funding_grant::Column::RecipientMunicipalityId)),
        )
        .to_owned();
    let hosted = Query::select()
        .column((service::Entity, service::Column::Id))
        .from(service::Entity)
        .and_where(
            Expr::col((service::Entity, service::Column::HostMunicipalityId))
                .eq(grant_col(funding_grant::Column::RecipientMunicipalityId)),
        )
        .to_owned();
    Condition::any()
        .add(
            service
                .clone()
                .eq(grant_col(funding_grant::Column::RecipientServiceId)),
        )
        .add(service.clone().in_subquery(members))
        .add(service.clone().in_subquery(covering))
        .add(service.in_subquery(hosted))
}

/// A sum over the statistics tally of the grant's run (`stats_run_service`,
/// kept by the writes in step with attendance) for the recipient's
/// services: `column` summed, 0 where the grant names no run. A person
/// belongs to one service, so sums over services count no one twice.
fn recipient_tally(column: stats_run_service::Column, today: NaiveDate) -> Expr {
    let tally = |c: stats_run_service::Column| Expr::col((stats_run_service::Entity, c));
    Func::coalesce([
        Expr::from(
            Query::select()
                .expr(Func::sum(tally(column)))
                .from(stats_run_service::Entity)
                .and_where(
                    tally(stats_run_service::Column::RunId)
                        .eq(grant_col(funding_grant::Column::RunId)),
                )
                .cond_where(service_of_recipient(
                    tally(stats_run_service::Column::ServiceId),
                    today,
                ))
                .to_owned(),
        ),
        Expr::val(0),
    ])
    .into()
}

/// How many attendance rows (present or absent) are recorded for the
/// recipient's people at the grant's run; 0 where the grant names no run.
/// Attendance counts as known for the grant when this is above 0.
pub fn attendance_recorded() -> Expr {
    recipient_tally(
        stats_run_service::Column::Recorded,
        crate::domain::network::today(),
    )
}

/// The distinct persons of the recipient recorded present at any session
/// of the grant's run; 0 where the grant names no run.
pub fn attendance_present() -> Expr {
    recipient_tally(
        stats_run_service::Column::Attendees,
        crate::domain::network::today(),
    )
}

/// The attendance recorded for a grant's recipient at its run: attendance
/// rows (present or absent) and distinct persons present.
pub async fn attendance_of_grant(
    db: &impl sea_orm::ConnectionTrait,
    grant_id: uuid::Uuid,
) -> crate::error::ApiResult<(i64, i64)> {
    use sea_orm::ColumnTrait;
    use sea_orm::sea_query::Alias;
    let bigint = |e: Expr| -> Expr { Func::cast_as(e, Alias::new("BIGINT")).into() };
    let stmt = Query::select()
        .expr_as(bigint(attendance_recorded()), Alias::new("recorded"))
        .expr_as(bigint(attendance_present()), Alias::new("present"))
        .from(funding_grant::Entity)
        .and_where(funding_grant::Column::Id.eq(grant_id))
        .to_owned();
    let row = db
        .query_one(&stmt)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("grant"))?;
    Ok((row.try_get("", "recorded")?, row.try_get("", "present")?))
}
