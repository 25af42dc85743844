//! The SQL of the statistics: one statement per request, built with
//! sea-query, the same on SQLite and PostgreSQL.
//!
//! The statement has a common table `stats_area`: every service with the
//! *current* municipalities it covers (its `service_municipality` rows and
//! its host municipality, each followed through up to
//! [`HISTORY_DEPTH`](crate::domain::service::area::HISTORY_DEPTH) steps of
//! `municipality_successor`, so that a service registered for Bø counts for
//! Midt-Telemark) and their counties.
//!
//! Each measure is counted at its own grain, in a branch of its own, and
//! the branches meet in a `UNION ALL` that is summed per group key:
//!
//! - enrolments (run × enrolled service × covered municipality): runs,
//!   services, municipalities;
//! - sessions: sessions;
//! - grants: the granted kroner of each run (summed per run first, then
//!   once per run and group, so that joins never count a grant twice);
//! - participations: participants and completions (distinct persons);
//! - attendance records: recorded and present.
//!
//! Joins that fan out (a service covering several municipalities, a
//! programme with several providers) are counted with `COUNT(DISTINCT …)`.
//! Every people count is taken twice: in full and over the facts the viewer
//! has full rights to (see [`crate::auth::policy::statistics`]).

use entity::enums::{GrantStatus, RunStatus, ServiceKind, SessionKind};
use entity::{
    attendance, enrolment, funder_office_county, funding_grant, municipality,
    municipality_successor, participation, person, programme_provider, programme_run, service,
    service_municipality, session,
};
use sea_orm::Condition;
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, Func, IntoIden, JoinType, Query,
    SelectStatement, UnionType, WithClause, WithQuery,
};
use uuid::Uuid;

use crate::auth::policy::statistics::{FactRights, own_people_facts};
use crate::auth::{Viewer, policy};
use crate::domain::service::area::HISTORY_DEPTH;

/// The name of the common table of service areas.
pub const AREA: &str = "stats_area";

/// A dimension of the statistics, as the SQL sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    Programme,
    Provider,
    County,
    Municipality,
    ServiceKind,
    Network,
    Year,
    SessionKind,
}

impl Dim {
    /// The column name of the dimension's key in the result.
    pub fn key(self) -> &'static str {
        match self {
            Dim::Programme => "k_programme",
            Dim::Provider => "k_provider",
            Dim::County => "k_county",
            Dim::Municipality => "k_municipality",
            Dim::ServiceKind => "k_service_kind",
            Dim::Network => "k_network",
            Dim::Year => "k_year",
            Dim::SessionKind => "k_session_kind",
        }
    }

    /// The expression of the key inside a branch (tables by their alias).
    fn expr(self) -> Expr {
        match self {
            Dim::Programme => col("r", programme_run::Column::ProgrammeId),
            Dim::Provider => col("pp", programme_provider::Column::ProviderId),
            Dim::County => col("a", "county_id"),
            Dim::Municipality => col("a", "municipality_id"),
            Dim::ServiceKind => col("s", service::Column::Kind),
            Dim::Network => col("r", programme_run::Column::NetworkId),
            Dim::Year => col("r", programme_run::Column::Year),
            Dim::SessionKind => col("ss", session::Column::Kind),
        }
    }

    fn is_service_side(self) -> bool {
        matches!(self, Dim::County | Dim::Municipality | Dim::ServiceKind)
    }

    fn is_area(self) -> bool {
        matches!(self, Dim::County | Dim::Municipality)
    }
}

/// The decoded filter of a statistics request.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub programme: Option<Uuid>,
    pub provider: Option<Uuid>,
    pub network: Option<Uuid>,
    pub service: Option<Uuid>,
    pub county: Option<Uuid>,
    pub municipality: Option<Uuid>,
    pub service_kind: Option<ServiceKind>,
    pub year: Option<i32>,
    pub session_kind: Option<SessionKind>,
    pub status: Option<RunStatus>,
}

/// A statistics request: its grouping (distinct dimensions, in order) and
/// filter.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dims: Vec<Dim>,
    pub filter: Filter,
}

/// The measure columns of the result, in order.
pub const MEASURES: [&str; 13] = [
    "runs",
    "sessions",
    "services",
    "municipalities",
    "granted",
    "participants",
    "participants_own",
    "completions",
    "completions_own",
    "recorded",
    "recorded_own",
    "present",
    "present_own",
];

fn col(table: &'static str, column: impl IntoIden) -> Expr {
    Expr::col((Alias::new(table), column))
}

fn zero() -> Expr {
    Expr::cust("0")
}

fn bigint(e: impl Into<Expr>) -> Expr {
    Func::cast_as(e.into(), Alias::new("BIGINT")).into()
}

impl Plan {
    fn grouped(&self, d: Dim) -> bool {
        self.dims.contains(&d)
    }

    /// Whether the service side (service kind, area) is needed.
    fn uses_service(&self) -> bool {
        self.dims.iter().any(|d| d.is_service_side())
            || self.filter.service.is_some()
            || self.filter.service_kind.is_some()
            || self.uses_area()
    }

    /// Whether the service's area is needed (grouped or filtered).
    fn uses_area(&self) -> bool {
        self.dims.iter().any(|d| d.is_area())
            || self.filter.county.is_some()
            || self.filter.municipality.is_some()
    }

    /// Whether sessions are needed (grouped or filtered by kind).
    fn uses_session(&self) -> bool {
        self.grouped(Dim::SessionKind) || self.filter.session_kind.is_some()
    }

    /// Adds the key columns of the grouping.
    fn select_keys(&self, q: &mut SelectStatement) {
        for d in &self.dims {
            q.expr_as(d.expr(), Alias::new(d.key()));
        }
    }

    /// Groups by the key expressions.
    fn group_keys(&self, q: &mut SelectStatement) {
        for d in &self.dims {
            q.add_group_by([d.expr()]);
        }
    }

    /// Joins `pp` (the programme's providers) when grouped by provider.
    fn join_provider(&self, q: &mut SelectStatement) {
        if self.grouped(Dim::Provider) {
            q.join_as(
                JoinType::LeftJoin,
                programme_provider::Entity,
                Alias::new("pp"),
                col("pp", programme_provider::Column::ProgrammeId)
                    .equals((Alias::new("r"), programme_run::Column::ProgrammeId)),
            );
        }
    }

    /// Joins `a` (the service's current municipalities) to `s`.
    fn join_area(&self, q: &mut SelectStatement) {
        q.join_as(
            JoinType::LeftJoin,
            Alias::new(AREA),
            Alias::new("a"),
            col("a", "service_id").equals((Alias::new("s"), service::Column::Id)),
        );
    }

    /// The conditions on the run (`r`, and `pp` when grouped by provider).
    fn run_filters(&self, q: &mut SelectStatement) {
        let f = &self.filter;
        if let Some(id) = f.programme {
            q.and_where(col("r", programme_run::Column::ProgrammeId).eq(id));
        }
        if let Some(id) = f.network {
            q.and_where(col("r", programme_run::Column::NetworkId).eq(id));
        }
        if let Some(year) = f.year {
            q.and_where(col("r", programme_run::Column::Year).eq(year));
        }
        if let Some(status) = f.status {
            q.and_where(col("r", programme_run::Column::Status).eq(status.as_str()));
        }
        if let Some(id) = f.provider {
            if self.grouped(Dim::Provider) {
                q.and_where(col("pp", programme_provider::Column::ProviderId).eq(id));
            } else {
                q.and_where(
                    col("r", programme_run::Column::ProgrammeId).in_subquery(
                        Query::select()
                            .column(programme_provider::Column::ProgrammeId)
                            .from(programme_provider::Entity)
                            .and_where(Expr::col(programme_provider::Column::ProviderId).eq(id))
                            .to_owned(),
                    ),
                );
            }
        }
    }

    /// The conditions on the service (`s`) and its area (`a`, joined
    /// whenever [`Self::uses_area`]).
    fn service_filters(&self, q: &mut SelectStatement) {
        let f = &self.filter;
        if let Some(id) = f.service {
            q.and_where(col("s", service::Column::Id).eq(id));
        }
        if let Some(kind) = f.service_kind {
            q.and_where(col("s", service::Column::Kind).eq(kind.as_str()));
        }
        if let Some(id) = f.county {
            q.and_where(col("a", "county_id").eq(id));
        }
        if let Some(id) = f.municipality {
            q.and_where(col("a", "municipality_id").eq(id));
        }
    }

    fn session_filter(&self, q: &mut SelectStatement) {
        if let Some(kind) = self.filter.session_kind {
            q.and_where(col("ss", session::Column::Kind).eq(kind.as_str()));
        }
    }

    /// Selects the measure columns, `given` by name and zero otherwise.
    fn measures(q: &mut SelectStatement, given: Vec<(&'static str, Expr)>) {
        for name in MEASURES {
            let expr = given
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, e)| e.clone())
                .unwrap_or_else(zero);
            q.expr_as(expr, Alias::new(name));
        }
    }

    /// Runs, services and municipalities: run × enrolled service × the
    /// current municipalities it covers.
    fn enrolments(&self) -> SelectStatement {
        let mut q = Query::select();
        self.select_keys(&mut q);
        q.from_as(programme_run::Entity, Alias::new("r"));
        self.join_provider(&mut q);
        q.join_as(
            JoinType::LeftJoin,
            enrolment::Entity,
            Alias::new("e"),
            col("e", enrolment::Column::RunId).equals((Alias::new("r"), programme_run::Column::Id)),
        )
        .join_as(
            JoinType::LeftJoin,
            service::Entity,
            Alias::new("s"),
            col("s", service::Column::Id).equals((Alias::new("e"), enrolment::Column::ServiceId)),
        );
        self.join_area(&mut q);
        if self.uses_session() {
            q.join_as(
                JoinType::LeftJoin,
                session::Entity,
                Alias::new("ss"),
                col("ss", session::Column::RunId)
                    .equals((Alias::new("r"), programme_run::Column::Id)),
            );
        }
        self.run_filters(&mut q);
        self.service_filters(&mut q);
        self.session_filter(&mut q);
        Self::measures(
            &mut q,
            vec![
                (
                    "runs",
                    Func::count_distinct(col("r", programme_run::Column::Id)).into(),
                ),
                (
                    "services",
                    Func::count_distinct(col("s", service::Column::Id)).into(),
                ),
                (
                    "municipalities",
                    Func::count_distinct(col("a", "municipality_id")).into(),
                ),
            ],
        );
        self.group_keys(&mut q);
        q
    }

    /// Joins the enrolled services of run `r` (and their area) when the
    /// service side is needed.
    fn join_enrolled_services(&self, q: &mut SelectStatement) {
        if self.uses_service() {
            q.join_as(
                JoinType::LeftJoin,
                enrolment::Entity,
                Alias::new("e"),
                col("e", enrolment::Column::RunId)
                    .equals((Alias::new("r"), programme_run::Column::Id)),
            )
            .join_as(
                JoinType::LeftJoin,
                service::Entity,
                Alias::new("s"),
                col("s", service::Column::Id)
                    .equals((Alias::new("e"), enrolment::Column::ServiceId)),
            );
            if self.uses_area() {
                self.join_area(q);
            }
        }
    }

    /// Sessions: a session counts for the services enrolled in its run.
    fn sessions(&self) -> SelectStatement {
        let mut q = Query::select();
        self.select_keys(&mut q);
        q.from_as(session::Entity, Alias::new("ss")).join_as(
            JoinType::InnerJoin,
            programme_run::Entity,
            Alias::new("r"),
            col("r", programme_run::Column::Id).equals((Alias::new("ss"), session::Column::RunId)),
        );
        self.join_provider(&mut q);
        self.join_enrolled_services(&mut q);
        self.run_filters(&mut q);
        self.service_filters(&mut q);
        self.session_filter(&mut q);
        Self::measures(
            &mut q,
            vec![(
                "sessions",
                Func::count_distinct(col("ss", session::Column::Id)).into(),
            )],
        );
        self.group_keys(&mut q);
        q
    }

    /// Granted kroner: the granted, paid and reported grants of each run
    /// that the viewer may see, summed per run, then once per run and
    /// group.
    fn grants(&self, viewer: &Viewer) -> SelectStatement {
        let per_run = Query::select()
            .column(funding_grant::Column::RunId)
            .expr_as(
                bigint(Func::sum(Expr::col(funding_grant::Column::AmountGranted))),
                Alias::new("total"),
            )
            .from(funding_grant::Entity)
            .and_where(Expr::col(funding_grant::Column::RunId).is_not_null())
            .and_where(Expr::col(funding_grant::Column::AmountGranted).is_not_null())
            .and_where(Expr::col(funding_grant::Column::Status).is_in([
                GrantStatus::Granted.as_str(),
                GrantStatus::Paid.as_str(),
                GrantStatus::Reported.as_str(),
            ]))
            .cond_where(policy::visible_grants(viewer))
            .group_by_col(funding_grant::Column::RunId)
            .to_owned();
        let mut inner = Query::select();
        inner.distinct();
        self.select_keys(&mut inner);
        inner
            .expr_as(col("r", programme_run::Column::Id), Alias::new("run_id"))
            .expr_as(col("g", "total"), Alias::new("total"))
            .from_as(programme_run::Entity, Alias::new("r"))
            .join_subquery(
                JoinType::InnerJoin,
                per_run,
                Alias::new("g"),
                col("g", funding_grant::Column::RunId)
                    .equals((Alias::new("r"), programme_run::Column::Id)),
            );
        self.join_provider(&mut inner);
        self.join_enrolled_services(&mut inner);
        if self.uses_session() {
            inner.join_as(
                JoinType::LeftJoin,
                session::Entity,
                Alias::new("ss"),
                col("ss", session::Column::RunId)
                    .equals((Alias::new("r"), programme_run::Column::Id)),
            );
        }
        self.run_filters(&mut inner);
        self.service_filters(&mut inner);
        self.session_filter(&mut inner);

        let mut q = Query::select();
        for d in &self.dims {
            q.expr_as(col("gr", d.key()), Alias::new(d.key()));
        }
        q.from_subquery(inner, Alias::new("gr"));
        Self::measures(
            &mut q,
            vec![(
                "granted",
                bigint(Func::coalesce([
                    Func::sum(col("gr", "total")).into(),
                    zero(),
                ])),
            )],
        );
        for d in &self.dims {
            q.add_group_by([col("gr", d.key())]);
        }
        q
    }

    /// Joins the person's service (`s`) and its area for people facts.
    fn join_person_service(&self, q: &mut SelectStatement) {
        if self.uses_service() {
            q.join_as(
                JoinType::InnerJoin,
                service::Entity,
                Alias::new("s"),
                col("s", service::Column::Id).equals((Alias::new("pe"), person::Column::ServiceId)),
            );
            if self.uses_area() {
                self.join_area(q);
            }
        }
    }

    /// A count over all facts and over the viewer's own ones.
    fn counted(rights: &FactRights, counted: impl Fn(Option<Condition>) -> Expr) -> (Expr, Expr) {
        let total = counted(None);
        let own = match rights {
            FactRights::All => counted(None),
            FactRights::Nothing => zero(),
            FactRights::Some(cond) => counted(Some(cond.clone())),
        };
        (total, own)
    }

    /// Participants and completions: distinct persons signed up to the
    /// runs (with a session kind: present at a session of that kind).
    fn participations(&self, rights: &FactRights) -> SelectStatement {
        let mut q = Query::select();
        self.select_keys(&mut q);
        q.from_as(participation::Entity, Alias::new("pa"))
            .join_as(
                JoinType::InnerJoin,
                programme_run::Entity,
                Alias::new("r"),
                col("r", programme_run::Column::Id)
                    .equals((Alias::new("pa"), participation::Column::RunId)),
            )
            .join_as(
                JoinType::InnerJoin,
                person::Entity,
                Alias::new("pe"),
                col("pe", person::Column::Id)
                    .equals((Alias::new("pa"), participation::Column::PersonId)),
            );
        self.join_provider(&mut q);
        self.join_person_service(&mut q);
        if self.uses_session() {
            q.join_as(
                JoinType::InnerJoin,
                attendance::Entity,
                Alias::new("at"),
                Condition::all()
                    .add(
                        col("at", attendance::Column::PersonId)
                            .equals((Alias::new("pa"), participation::Column::PersonId)),
                    )
                    .add(col("at", attendance::Column::Present).eq(true)),
            )
            .join_as(
                JoinType::InnerJoin,
                session::Entity,
                Alias::new("ss"),
                Condition::all()
                    .add(
                        col("ss", session::Column::Id)
                            .equals((Alias::new("at"), attendance::Column::SessionId)),
                    )
                    .add(
                        col("ss", session::Column::RunId)
                            .equals((Alias::new("pa"), participation::Column::RunId)),
                    ),
            );
        }
        self.run_filters(&mut q);
        self.service_filters(&mut q);
        self.session_filter(&mut q);
        let person = || col("pa", participation::Column::PersonId);
        let completed = || col("pa", participation::Column::Completed).eq(true);
        let (participants, participants_own) = Self::counted(rights, |own| match own {
            None => Func::count_distinct(person()).into(),
            Some(own) => Func::count_distinct(Expr::case(own, person())).into(),
        });
        let (completions, completions_own) = Self::counted(rights, |own| {
            let cond = match own {
                None => Condition::all().add(completed()),
                Some(own) => Condition::all().add(completed()).add(own),
            };
            Func::count_distinct(Expr::case(cond, person())).into()
        });
        Self::measures(
            &mut q,
            vec![
                ("participants", participants),
                ("participants_own", participants_own),
                ("completions", completions),
                ("completions_own", completions_own),
            ],
        );
        self.group_keys(&mut q);
        q
    }

    /// Attendance records: recorded (present or absent) and present.
    fn attendance(&self, rights: &FactRights) -> SelectStatement {
        let mut q = Query::select();
        self.select_keys(&mut q);
        q.from_as(attendance::Entity, Alias::new("at"))
            .join_as(
                JoinType::InnerJoin,
                session::Entity,
                Alias::new("ss"),
                col("ss", session::Column::Id)
                    .equals((Alias::new("at"), attendance::Column::SessionId)),
            )
            .join_as(
                JoinType::InnerJoin,
                programme_run::Entity,
                Alias::new("r"),
                col("r", programme_run::Column::Id)
                    .equals((Alias::new("ss"), session::Column::RunId)),
            )
            .join_as(
                JoinType::InnerJoin,
                person::Entity,
                Alias::new("pe"),
                col("pe", person::Column::Id)
                    .equals((Alias::new("at"), attendance::Column::PersonId)),
            );
        self.join_provider(&mut q);
        self.join_person_service(&mut q);
        self.run_filters(&mut q);
        self.service_filters(&mut q);
        self.session_filter(&mut q);
        // Without joins that fan out, each record is one row: plain counts.
        let fans_out = self.grouped(Dim::Provider) || self.uses_area();
        let id = || col("at", attendance::Column::Id);
        let present = || col("at", attendance::Column::Present).eq(true);
        let count = |cond: Option<Condition>| -> Expr {
            match (fans_out, cond) {
                (true, None) => Func::count_distinct(id()).into(),
                (true, Some(c)) => Func::count_distinct(Expr::case(c, id())).into(),
                (false, None) => Func::count(id()).into(),
                (false, Some(c)) => bigint(Func::coalesce([
                    Func::sum(Expr::case(c, 1).finally(0)).into(),
                    zero(),
                ])),
            }
        };
        let (recorded, recorded_own) = Self::counted(rights, count);
        let (present_all, present_own) = Self::counted(rights, |own| {
            let cond = match own {
                None => Condition::all().add(present()),
                Some(own) => Condition::all().add(present()).add(own),
            };
            count(Some(cond))
        });
        Self::measures(
            &mut q,
            vec![
                ("recorded", recorded),
                ("recorded_own", recorded_own),
                ("present", present_all),
                ("present_own", present_own),
            ],
        );
        self.group_keys(&mut q);
        q
    }

    /// The one statement of the request: at most `limit` rows.
    pub fn statement(&self, viewer: &Viewer, limit: u64) -> WithQuery {
        let rights = own_people_facts(
            viewer,
            col("r", programme_run::Column::ProgrammeId),
            col("pe", person::Column::ServiceId),
            services_of_offices,
        );
        let mut union = self.enrolments();
        union.union(UnionType::All, self.sessions());
        union.union(UnionType::All, self.grants(viewer));
        union.union(UnionType::All, self.participations(&rights));
        union.union(UnionType::All, self.attendance(&rights));

        let mut q = Query::select();
        for d in &self.dims {
            q.expr_as(col("u", d.key()), Alias::new(d.key()));
        }
        for name in MEASURES {
            q.expr_as(bigint(Func::sum(col("u", name))), Alias::new(name));
        }
        q.from_subquery(union, Alias::new("u"));
        for d in &self.dims {
            q.add_group_by([col("u", d.key())]);
        }
        q.limit(limit);
        q.with(WithClause::new().cte(area_cte()).to_owned())
    }
}

/// The services covering a municipality in a county of the given funder
/// offices, from the area table of the statement.
fn services_of_offices(offices: &[Uuid]) -> SelectStatement {
    Query::select()
        .column(Alias::new("service_id"))
        .from(Alias::new(AREA))
        .and_where(
            Expr::col(Alias::new("county_id")).in_subquery(
                Query::select()
                    .column(funder_office_county::Column::CountyId)
                    .from(funder_office_county::Entity)
                    .and_where(
                        Expr::col(funder_office_county::Column::FunderOfficeId)
                            .is_in(offices.iter().copied()),
                    )
                    .to_owned(),
            ),
        )
        .to_owned()
}

/// Pairs (`from_id`, `current_id`): every municipality that is current or
/// became part of a current one within [`HISTORY_DEPTH`] steps, with the
/// current municipality it is part of today (several for one that was
/// split).
fn current_municipalities() -> SelectStatement {
    let level = |depth: usize| -> SelectStatement {
        let mut q = Query::select();
        if depth == 0 {
            q.expr_as(col("m", municipality::Column::Id), Alias::new("from_id"))
                .from_as(municipality::Entity, Alias::new("m"));
        } else {
            q.expr_as(
                col("h1", municipality_successor::Column::MunicipalityId),
                Alias::new("from_id"),
            )
            .from_as(municipality_successor::Entity, Alias::new("h1"));
            for step in 2..=depth {
                let (prev, this) = (format!("h{}", step - 1), format!("h{step}"));
                q.join_as(
                    JoinType::InnerJoin,
                    municipality_successor::Entity,
                    Alias::new(&this),
                    Expr::col((
                        Alias::new(&this),
                        municipality_successor::Column::MunicipalityId,
                    ))
                    .equals((
                        Alias::new(&prev),
                        municipality_successor::Column::SuccessorId,
                    )),
                );
            }
            q.join_as(
                JoinType::InnerJoin,
                municipality::Entity,
                Alias::new("m"),
                col("m", municipality::Column::Id).equals((
                    Alias::new(format!("h{depth}")),
                    municipality_successor::Column::SuccessorId,
                )),
            );
        }
        q.expr_as(col("m", municipality::Column::Id), Alias::new("current_id"))
            .and_where(col("m", municipality::Column::ValidTo).is_null());
        q
    };
    let mut q = level(0);
    for depth in 1..=HISTORY_DEPTH {
        q.union(UnionType::Distinct, level(depth));
    }
    q
}

/// The common table `stats_area` (`service_id`, `municipality_id`,
/// `county_id`): each service with the current municipalities it covers
/// (registered coverage and host municipality) and their counties.
fn area_cte() -> CommonTableExpression {
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
    let q = Query::select()
        .distinct()
        .expr_as(col("c", "service_id"), Alias::new("service_id"))
        .expr_as(col("cur", "current_id"), Alias::new("municipality_id"))
        .expr_as(
            col("m", municipality::Column::CountyId),
            Alias::new("county_id"),
        )
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
            col("m", municipality::Column::Id)
                .equals((Alias::new("cur"), Alias::new("current_id"))),
        )
        .to_owned();
    CommonTableExpression::new()
        .query(q)
        .table_name(Alias::new(AREA))
        .to_owned()
}

/// The coverage statement: per current county, its current municipalities
/// and their population, and those reached (covered by a service enrolled
/// in a matching run) with theirs. `runs` narrows the runs (conditions on
/// `r`).
pub fn coverage_statement(runs: Condition) -> WithQuery {
    let reached = Query::select()
        .distinct()
        .expr_as(col("a", "municipality_id"), Alias::new("municipality_id"))
        .from_as(Alias::new(AREA), Alias::new("a"))
        .join_as(
            JoinType::InnerJoin,
            enrolment::Entity,
            Alias::new("e"),
            col("e", enrolment::Column::ServiceId)
                .equals((Alias::new("a"), Alias::new("service_id"))),
        )
        .join_as(
            JoinType::InnerJoin,
            programme_run::Entity,
            Alias::new("r"),
            col("r", programme_run::Column::Id).equals((Alias::new("e"), enrolment::Column::RunId)),
        )
        .cond_where(runs)
        .to_owned();
    let population = || Func::coalesce([col("m", municipality::Column::Population), zero()]);
    let is_reached = || col("rm", "municipality_id").is_not_null();
    let q = Query::select()
        .expr_as(
            col("m", municipality::Column::CountyId),
            Alias::new("county_id"),
        )
        .expr_as(
            col("c", entity::county::Column::Number),
            Alias::new("county_number"),
        )
        .expr_as(
            bigint(Func::count(col("m", municipality::Column::Id))),
            Alias::new("municipalities"),
        )
        .expr_as(
            bigint(Func::count(col("rm", "municipality_id"))),
            Alias::new("reached"),
        )
        .expr_as(bigint(Func::sum(population())), Alias::new("population"))
        .expr_as(
            bigint(Func::sum(
                Expr::case(is_reached(), population()).finally(zero()),
            )),
            Alias::new("population_reached"),
        )
        .from_as(municipality::Entity, Alias::new("m"))
        .join_as(
            JoinType::InnerJoin,
            entity::county::Entity,
            Alias::new("c"),
            col("c", entity::county::Column::Id)
                .equals((Alias::new("m"), municipality::Column::CountyId)),
        )
        .join_subquery(
            JoinType::LeftJoin,
            reached,
            Alias::new("rm"),
            col("rm", "municipality_id").equals((Alias::new("m"), municipality::Column::Id)),
        )
        .and_where(col("m", municipality::Column::ValidTo).is_null())
        .add_group_by([
            col("m", municipality::Column::CountyId),
            col("c", entity::county::Column::Number),
        ])
        .order_by(Alias::new("county_number"), sea_orm::Order::Asc)
        .to_owned();
    q.with(WithClause::new().cte(area_cte()).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn plan(dims: Vec<Dim>) -> Plan {
        Plan {
            dims,
            filter: Filter::default(),
        }
    }

    #[test]
    fn one_statement_with_every_branch() {
        let q = plan(vec![Dim::County, Dim::Provider, Dim::SessionKind])
            .statement(&Viewer::anonymous(), 10);
        for sql in [
            q.to_string(SqliteQueryBuilder),
            q.to_string(PostgresQueryBuilder),
        ] {
            assert!(sql.starts_with("WITH \"stats_area\""), "{sql}");
            assert_eq!(sql.matches("UNION ALL").count(), 4, "{sql}");
            assert!(sql.contains("COUNT(DISTINCT"), "{sql}");
            assert!(sql.contains("LIMIT"), "{sql}");
        }
    }

    #[test]
    fn no_grouping_has_no_group_by_in_the_outer_query() {
        let q = plan(vec![]).statement(&Viewer::anonymous(), 10);
        let sql = q.to_string(PostgresQueryBuilder);
        assert!(!sql.contains("\"k_"), "{sql}");
    }
}
