//! Grant totals: applied, granted and paid kroner per office, county,
//! programme, year and status, with the participants recorded at the runs
//! the grants pay for. One GROUP BY statement over the grants the viewer
//! may see; the server only divides the sums.

use async_graphql::{Context, Enum, Object};
use chrono::NaiveDate;
use entity::enums::GrantStatus;
use entity::funding_grant;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, Order};
use uuid::Uuid;

use super::{FunderOffice, sql};
use crate::auth::Viewer;
use crate::auth::policy::disclosure::{Figure, Measure, Protected};
use crate::domain::geography::County;
use crate::domain::money::Kroner;
use crate::domain::programme::Programme;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;

/// What grant totals are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum GrantDimension {
    /// The funder office the applications are addressed to.
    Office,
    /// The county of the recipient (the municipality's county, the
    /// network's county, or the county of the service's host municipality).
    County,
    /// The programme the grant pays for (named, or that of its run).
    Programme,
    /// The budget year.
    Year,
    /// The status of the applications.
    Status,
}

impl GrantDimension {
    fn alias(self) -> &'static str {
        match self {
            Self::Office => "office",
            Self::County => "county",
            Self::Programme => "programme",
            Self::Year => "year",
            Self::Status => "status",
        }
    }
}

/// One row of grant totals: the keys of its group (those not grouped by
/// are null) and the sums over the group's grants.
#[derive(Debug, Clone)]
pub struct GrantTotal {
    office_id: Option<Uuid>,
    county_id: Option<Uuid>,
    programme_id: Option<Uuid>,
    year: Option<i32>,
    status: Option<GrantStatus>,
    grants: i64,
    applied: i64,
    granted: i64,
    paid: i64,
    participants: Option<i64>,
    granted_attended: Option<i64>,
    participants_granted: Option<i64>,
    suppressed: bool,
}

/// One row of grant totals: the keys of its group (a key that is not
/// grouped by is null; so is a county or programme the grants of the group
/// do not have) and the sums over the group's grants.
#[Object]
impl GrantTotal {
    /// The funder office of the group, when grouped by OFFICE.
    async fn office(&self, ctx: &Context<'_>) -> ApiResult<Option<FunderOffice>> {
        match self.office_id {
            Some(id) => Ok(ctx
                .loaders()?
                .funder_office
                .load_one(id)
                .await?
                .map(FunderOffice)),
            None => Ok(None),
        }
    }
    /// The recipients' county of the group, when grouped by COUNTY (null
    /// for recipients without a county, e.g. national networks).
    async fn county(&self, ctx: &Context<'_>) -> ApiResult<Option<County>> {
        match self.county_id {
            Some(id) => Ok(ctx.loaders()?.county.load_one(id).await?.map(County)),
            None => Ok(None),
        }
    }
    /// The programme of the group, when grouped by PROGRAMME (null for
    /// grants that name neither a programme nor a run).
    async fn programme(&self, ctx: &Context<'_>) -> ApiResult<Option<Programme>> {
        match self.programme_id {
            Some(id) => Ok(ctx.loaders()?.programme.load_one(id).await?.map(Into::into)),
            None => Ok(None),
        }
    }
    /// The budget year of the group, when grouped by YEAR.
    async fn year(&self) -> Option<i32> {
        self.year
    }
    /// The status of the group, when grouped by STATUS.
    async fn status(&self) -> Option<GrantStatus> {
        self.status
    }
    /// How many grants (applications) the group holds.
    async fn grants(&self) -> i64 {
        self.grants
    }
    /// Kroner applied for, summed over the group's applications.
    async fn applied(&self) -> Kroner {
        Kroner(self.applied)
    }
    /// Kroner granted: the granted amounts of the group's GRANTED, PAID
    /// and REPORTED grants.
    async fn granted(&self) -> Kroner {
        Kroner(self.granted)
    }
    /// Kroner paid out: the granted amounts of the group's PAID and
    /// REPORTED grants.
    async fn paid(&self) -> Kroner {
        Kroner(self.paid)
    }
    /// Participants, for the grants that name a run: the distinct persons
    /// of each grant's recipient recorded present at any session of that
    /// run, summed over those grants. Null when no grant of the group names
    /// a run with attendance recorded for its recipient, and when withheld.
    /// A figure about people: exact for a viewer with full rights on every
    /// person counted, perturbed (and withheld below 5) for others, like
    /// `participationStats` (see `suppressed`).
    async fn participants(&self) -> Option<i64> {
        self.participants
    }
    /// Kroner granted per participant, rounded to whole kroner: the granted
    /// amounts of the group's grants with recorded attendance, divided by
    /// their participants (as protected for the viewer). Null when no
    /// granted grant of the group has recorded attendance (or nobody was
    /// present), and when those participants are withheld.
    async fn kroner_per_participant(&self) -> Option<Kroner> {
        per_participant(self.granted_attended?, self.participants_granted?).map(Kroner)
    }
    /// Whether `participants` or `kronerPerParticipant` is withheld to
    /// protect a small number of people.
    async fn suppressed(&self) -> bool {
        self.suppressed
    }
}

/// `granted ÷ participants`, rounded half up to whole kroner; `None` for no
/// participants.
pub fn per_participant(granted: i64, participants: i64) -> Option<i64> {
    if participants <= 0 {
        return None;
    }
    let (g, p) = (i128::from(granted), i128::from(participants));
    let q = if g >= 0 {
        (2 * g + p) / (2 * p)
    } else {
        -((-2 * g + p) / (2 * p))
    };
    i64::try_from(q).ok()
}

fn bigint(e: impl Into<Expr>) -> Expr {
    Func::cast_as(e.into(), Alias::new("BIGINT")).into()
}

fn g(col: &str) -> Expr {
    Expr::col((Alias::new("g"), Alias::new(col)))
}

fn granted_statuses() -> Vec<GrantStatus> {
    vec![
        GrantStatus::Granted,
        GrantStatus::Paid,
        GrantStatus::Reported,
    ]
}

/// The derived table of one row per grant that the totals are summed
/// over.
const PER_GRANT: &str = "per_grant";

/// The totals statement, in three levels, all on SQLite and PostgreSQL:
///
/// 1. `per_grant`: the grants meeting `condition` (a condition on
///    `funding_grant`, evaluated once per grant), each with its amounts and
///    the attendance of its recipient at its run, summed from the run's
///    tally rows that [`sql::join_recipient_tally`] outer-joins (a handful
///    per grant, tested against the recipient's services with uncorrelated
///    `IN` lists) and grouped by `funding_grant.id`. It carries the grant
///    columns that the dimensions grouped by need, under their own names.
/// 2. `g`: the grouping keys of each grant. The county
///    ([`sql::join_recipient_county`]: recipient municipality, network,
///    service and its host municipality) and the programme
///    ([`sql::join_grant_programme`]: the run) are `LEFT JOIN`s on primary
///    keys, made only when grouped by.
/// 3. the sums of `g` grouped by `group_by`.
///
/// Over many grants every table is read once (hashed, on PostgreSQL)
/// instead of a handful of correlated subqueries running per grant. The
/// one aggregate, `per_grant`, is the preserved side of every join after
/// it, so no plan re-runs it per row: a misestimated filter costs an index
/// lookup per row at worst. With `fence` (PostgreSQL), `g` carries `OFFSET 0`, which keeps the
/// planner from merging it into the outer query, where an expression of
/// `g` (the county's fallback subquery) would be evaluated once for every
/// use instead of once per grant. (SQLite does not take OFFSET without
/// LIMIT.)
fn statement(
    viewer: &Viewer,
    condition: Condition,
    group_by: &[GrantDimension],
    fence: bool,
    today: NaiveDate,
) -> SelectStatement {
    let status = funding_grant::Column::Status;
    let grant_col = |c: funding_grant::Column| Expr::col((funding_grant::Entity, c));
    let per_grant_col = |c: funding_grant::Column| Expr::col((Alias::new(PER_GRANT), c));
    let figure = |name: &str| Expr::col((Alias::new(PER_GRANT), Alias::new(name)));

    let mut per_grant = Query::select();
    per_grant.from(funding_grant::Entity);
    let mut carry = |c: funding_grant::Column| {
        per_grant.expr_as(grant_col(c), c);
    };
    for dim in group_by {
        match dim {
            GrantDimension::Office => carry(funding_grant::Column::FunderOfficeId),
            GrantDimension::County => {
                carry(funding_grant::Column::RecipientServiceId);
                carry(funding_grant::Column::RecipientMunicipalityId);
                carry(funding_grant::Column::RecipientNetworkId);
            }
            GrantDimension::Programme => {
                carry(funding_grant::Column::ProgrammeId);
                carry(funding_grant::Column::RunId);
            }
            GrantDimension::Year => carry(funding_grant::Column::Year),
            GrantDimension::Status => carry(funding_grant::Column::Status),
        }
    }
    let tally = sql::join_recipient_tally(&mut per_grant, today, viewer);
    let amount_granted = || grant_col(funding_grant::Column::AmountGranted);
    per_grant
        .expr_as(
            grant_col(funding_grant::Column::AmountApplied),
            Alias::new("applied"),
        )
        .expr_as(
            Expr::case(status.is_in(granted_statuses()), amount_granted()),
            Alias::new("granted"),
        )
        .expr_as(
            Expr::case(
                status.is_in([GrantStatus::Paid, GrantStatus::Reported]),
                amount_granted(),
            ),
            Alias::new("paid"),
        )
        .expr_as(tally.recorded, Alias::new("recorded"))
        .expr_as(tally.present, Alias::new("present"))
        .expr_as(tally.present_own, Alias::new("present_own"))
        .expr_as(tally.present_key, Alias::new("present_key"))
        .cond_where(condition)
        .group_by_col((funding_grant::Entity, funding_grant::Column::Id));

    let mut inner = Query::select();
    inner.from_subquery(per_grant, Alias::new(PER_GRANT));
    for dim in group_by {
        let key = match dim {
            GrantDimension::Office => per_grant_col(funding_grant::Column::FunderOfficeId),
            GrantDimension::County => sql::join_recipient_county(&mut inner, PER_GRANT),
            GrantDimension::Programme => sql::join_grant_programme(&mut inner, PER_GRANT),
            GrantDimension::Year => per_grant_col(funding_grant::Column::Year),
            GrantDimension::Status => per_grant_col(funding_grant::Column::Status),
        };
        inner.expr_as(key, Alias::new(dim.alias()));
    }
    for name in [
        "applied",
        "granted",
        "paid",
        "recorded",
        "present",
        "present_own",
        "present_key",
    ] {
        inner.expr_as(figure(name), Alias::new(name));
    }
    if fence {
        inner.offset(0);
    }

    let known = || g("recorded").gt(0);
    let known_granted = || g("recorded").gt(0).and(g("granted").is_not_null());
    let mut outer = Query::select();
    outer.from_subquery(inner, Alias::new("g"));
    for dim in group_by {
        outer.expr_as(g(dim.alias()), Alias::new(dim.alias()));
    }
    outer
        .expr_as(bigint(Func::count(Expr::cust("*"))), Alias::new("grants"))
        .expr_as(
            bigint(Func::coalesce([
                Func::sum(g("applied")).into(),
                Expr::val(0),
            ])),
            Alias::new("applied"),
        )
        .expr_as(
            bigint(Func::coalesce([
                Func::sum(g("granted")).into(),
                Expr::val(0),
            ])),
            Alias::new("granted"),
        )
        .expr_as(
            bigint(Func::coalesce([Func::sum(g("paid")).into(), Expr::val(0)])),
            Alias::new("paid"),
        )
        .expr_as(
            bigint(Func::sum(Expr::case(known(), g("present")))),
            Alias::new("participants"),
        )
        .expr_as(
            bigint(Func::sum(Expr::case(known(), g("present_own")))),
            Alias::new("participants_own"),
        )
        .expr_as(
            bigint(Func::sum(Expr::case(known(), g("present_key")))),
            Alias::new("participants_key"),
        )
        .expr_as(
            bigint(Func::sum(Expr::case(known_granted(), g("granted")))),
            Alias::new("granted_attended"),
        )
        .expr_as(
            bigint(Func::sum(Expr::case(known_granted(), g("present")))),
            Alias::new("participants_granted"),
        )
        .expr_as(
            bigint(Func::sum(Expr::case(known_granted(), g("present_own")))),
            Alias::new("participants_granted_own"),
        )
        .expr_as(
            bigint(Func::sum(Expr::case(known_granted(), g("present_key")))),
            Alias::new("participants_granted_key"),
        );
    for dim in group_by {
        outer.add_group_by([g(dim.alias())]);
    }
    for dim in group_by {
        outer.order_by_expr(g(dim.alias()), Order::Asc);
    }
    outer
}

/// The totals of the grants meeting `condition` (the viewer's row rule and
/// the filter), grouped by `group_by` (duplicates ignored). No dimensions:
/// one row over all of them.
pub async fn totals(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    condition: Condition,
    group_by: &[GrantDimension],
) -> ApiResult<Vec<GrantTotal>> {
    let mut dims: Vec<GrantDimension> = Vec::new();
    for d in group_by {
        if !dims.contains(d) {
            dims.push(*d);
        }
    }
    let fence = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let stmt = statement(
        viewer,
        condition,
        &dims,
        fence,
        crate::domain::network::today(),
    );
    let rows = db.query_all(&stmt).await?;
    let has = |d: GrantDimension| dims.contains(&d);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let uuid = |d: GrantDimension| -> ApiResult<Option<Uuid>> {
            if has(d) {
                Ok(row.try_get::<Option<Uuid>>("", d.alias())?)
            } else {
                Ok(None)
            }
        };
        let status = if has(GrantDimension::Status) {
            let raw: Option<String> = row.try_get("", "status")?;
            match raw {
                Some(s) => Some(
                    GrantStatus::ALL
                        .iter()
                        .copied()
                        .find(|st| st.as_str() == s)
                        .ok_or_else(|| ApiError::internal(format!("unknown grant status {s}")))?,
                ),
                None => None,
            }
        } else {
            None
        };
        // Participants are a figure about people (disclosure control); null
        // in SQL where no grant of the group has attendance recorded.
        let figure = |name: &str| -> ApiResult<Option<Protected>> {
            let total: Option<i64> = row.try_get("", name)?;
            let own: Option<i64> = row.try_get("", &format!("{name}_own"))?;
            let key: Option<i64> = row.try_get("", &format!("{name}_key"))?;
            Ok(total.map(|t| {
                Figure::new(t, own.unwrap_or(0), key.unwrap_or(0)).protect(Measure::Attendees)
            }))
        };
        let participants = figure("participants")?;
        let participants_granted = figure("participants_granted")?;
        out.push(GrantTotal {
            office_id: uuid(GrantDimension::Office)?,
            county_id: uuid(GrantDimension::County)?,
            programme_id: uuid(GrantDimension::Programme)?,
            year: if has(GrantDimension::Year) {
                row.try_get::<Option<i32>>("", "year")?
            } else {
                None
            },
            status,
            grants: row.try_get("", "grants")?,
            applied: row.try_get("", "applied")?,
            granted: row.try_get("", "granted")?,
            paid: row.try_get("", "paid")?,
            participants: participants.and_then(Protected::value),
            granted_attended: row.try_get("", "granted_attended")?,
            participants_granted: participants_granted.and_then(Protected::value),
            suppressed: participants.is_some_and(Protected::is_suppressed)
                || participants_granted.is_some_and(Protected::is_suppressed),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::per_participant;

    #[test]
    fn kroner_per_participant_rounds_half_up() {
        assert_eq!(per_participant(100, 3), Some(33));
        assert_eq!(per_participant(100, 6), Some(17));
        assert_eq!(per_participant(5, 2), Some(3));
        assert_eq!(per_participant(100, 0), None);
        assert_eq!(per_participant(0, 4), Some(0));
    }
}
