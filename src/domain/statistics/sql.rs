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
//! - sessions: the run's sessions per kind, from the tally
//!   `stats_run_kind`;
//! - grants: the granted kroner of each run (summed per run first, then
//!   once per run and group, so that joins never count a grant twice);
//! - people facts: participants, completions, attendance records and
//!   records present, from the tallies `stats_run_service` (per run and
//!   person's service) or, with a session kind, `stats_run_service_kind`
//!   (see [`super::tally`]), so that a request sums tally rows instead of
//!   joining every attendance record;
//! - distinct people (only when asked for): persons signed up, each counted
//!   once, from the participations themselves.
//!
//! Joins that fan out (a service covering several municipalities, a
//! programme with several providers) are undone before summing: the rows
//! of a branch are first made distinct per group key and counted row
//! (`SELECT DISTINCT`), then summed. Every people count is taken twice: in
//! full and over the facts the viewer has full rights to (see
//! [`crate::auth::policy::statistics`]).

use entity::attendance;
use entity::enums::{GrantStatus, RunStatus, ServiceKind, SessionKind};
use entity::{
    enrolment, funder_office_county, funding_grant, municipality, municipality_successor,
    participation, person, programme_provider, programme_run, service, service_municipality,
    session, stats_run_kind, stats_run_service, stats_run_service_kind,
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

    /// The expression of the key inside a branch (tables by their alias;
    /// `k` is the branch's table with a session `kind`).
    fn expr(self) -> Expr {
        match self {
            Dim::Programme => col("r", programme_run::Column::ProgrammeId),
            Dim::Provider => col("pp", programme_provider::Column::ProviderId),
            Dim::County => col("a", "county_id"),
            Dim::Municipality => col("a", "municipality_id"),
            Dim::ServiceKind => col("s", service::Column::Kind),
            Dim::Network => col("r", programme_run::Column::NetworkId),
            Dim::Year => col("r", programme_run::Column::Year),
            Dim::SessionKind => col("k", "kind"),
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

/// A statistics request: its grouping (distinct dimensions, in order),
/// filter, and whether distinct people are asked for.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dims: Vec<Dim>,
    pub filter: Filter,
    /// Whether to count distinct people (`people`), the one measure that
    /// reads the participations themselves.
    pub people: bool,
}

/// The measure columns of the result, in order.
pub const MEASURES: [&str; 15] = [
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
    "people",
    "people_own",
];

/// The counts of the people tallies, with their result columns.
const TALLY_COUNTS: [(&str, &str, &str); 4] = [
    ("participants", "participants", "participants_own"),
    ("completions", "completions", "completions_own"),
    ("recorded", "recorded", "recorded_own"),
    ("present", "present", "present_own"),
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

/// `SUM(e)` as a BIGINT, 0 over no rows.
fn sum(e: Expr) -> Expr {
    bigint(Func::coalesce([Func::sum(e).into(), zero()]))
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

    /// Whether session kinds are needed (grouped or filtered by kind).
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

    /// Selects the key columns of a distinct inner branch `alias` and
    /// groups by them.
    fn outer_keys(&self, q: &mut SelectStatement, alias: &'static str) {
        for d in &self.dims {
            q.expr_as(col(alias, d.key()), Alias::new(d.key()));
        }
    }

    fn group_outer_keys(&self, q: &mut SelectStatement, alias: &'static str) {
        for d in &self.dims {
            q.add_group_by([col(alias, d.key())]);
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

    /// Joins `s`, the service whose id is `service`, and its area when the
    /// area is used (people facts: the person's service).
    fn join_service(&self, q: &mut SelectStatement, service: Expr) {
        q.join_as(
            JoinType::InnerJoin,
            service::Entity,
            Alias::new("s"),
            col("s", service::Column::Id).eq(service),
        );
        if self.uses_area() {
            self.join_area(q);
        }
    }

    /// Joins `k`, the run's session kinds (from the tally), to run `r`.
    fn join_run_kinds(&self, q: &mut SelectStatement) {
        q.join_as(
            JoinType::InnerJoin,
            stats_run_kind::Entity,
            Alias::new("k"),
            col("k", stats_run_kind::Column::RunId)
                .equals((Alias::new("r"), programme_run::Column::Id)),
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

    /// The condition on the session kind (`k`).
    fn session_filter(&self, q: &mut SelectStatement) {
        if let Some(kind) = self.filter.session_kind {
            q.and_where(col("k", "kind").eq(kind.as_str()));
        }
    }

    /// All conditions of the request.
    fn filters(&self, q: &mut SelectStatement) {
        self.run_filters(q);
        self.service_filters(q);
        self.session_filter(q);
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
            self.join_run_kinds(&mut q);
        }
        self.filters(&mut q);
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

    /// Sessions: the tally of each run's sessions per kind, counted for
    /// the services enrolled in the run. The runs are first made distinct
    /// per group key (so a run counts once per group however many of its
    /// services fall in it), then joined to their kinds and summed.
    fn sessions(&self) -> SelectStatement {
        let run_dims: Vec<Dim> = self
            .dims
            .iter()
            .copied()
            .filter(|d| *d != Dim::SessionKind)
            .collect();
        let mut runs = Query::select();
        runs.distinct();
        for d in &run_dims {
            runs.expr_as(d.expr(), Alias::new(d.key()));
        }
        runs.expr_as(col("r", programme_run::Column::Id), Alias::new("u_run"))
            .from_as(programme_run::Entity, Alias::new("r"));
        self.join_provider(&mut runs);
        self.join_enrolled_services(&mut runs);
        self.run_filters(&mut runs);
        self.service_filters(&mut runs);

        let key = |d: Dim| {
            if d == Dim::SessionKind {
                col("k", stats_run_kind::Column::Kind)
            } else {
                col("d", d.key())
            }
        };
        let mut q = Query::select();
        for d in &self.dims {
            q.expr_as(key(*d), Alias::new(d.key()));
        }
        q.from_subquery(runs, Alias::new("d")).join_as(
            JoinType::InnerJoin,
            stats_run_kind::Entity,
            Alias::new("k"),
            col("k", stats_run_kind::Column::RunId).equals((Alias::new("d"), Alias::new("u_run"))),
        );
        self.session_filter(&mut q);
        Self::measures(
            &mut q,
            vec![("sessions", sum(col("k", stats_run_kind::Column::Sessions)))],
        );
        for d in &self.dims {
            q.add_group_by([key(*d)]);
        }
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
            self.join_run_kinds(&mut inner);
        }
        self.filters(&mut inner);

        let mut q = Query::select();
        self.outer_keys(&mut q, "gr");
        q.from_subquery(inner, Alias::new("gr"));
        Self::measures(&mut q, vec![("granted", sum(col("gr", "total")))]);
        self.group_outer_keys(&mut q, "gr");
        q
    }

    /// `1` for a fact within the viewer's rights, else `0`.
    fn own_flag(rights: &FactRights) -> Expr {
        match rights {
            FactRights::All => Expr::cust("1"),
            FactRights::Nothing => zero(),
            FactRights::Some(cond) => Expr::case(cond.clone(), 1).finally(0).into(),
        }
    }

    /// People facts from the tallies: participants, completions, records
    /// and records present, each in full and over the viewer's own facts
    /// (`rights`, over the run `r` and the tally's service `k.service_id`).
    fn facts(&self, rights: &FactRights) -> SelectStatement {
        let mut inner = Query::select();
        // Only joins that fan out (providers, areas) can repeat a tally row
        // within a group; without them each row counts as it is.
        if self.grouped(Dim::Provider) || self.uses_area() {
            inner.distinct();
        }
        self.select_keys(&mut inner);
        inner
            .expr_as(col("k", "run_id"), Alias::new("u_run"))
            .expr_as(col("k", "service_id"), Alias::new("u_service"));
        if self.uses_session() {
            inner
                .expr_as(col("k", "kind"), Alias::new("u_kind"))
                .from_as(stats_run_service_kind::Entity, Alias::new("k"));
        } else {
            inner.from_as(stats_run_service::Entity, Alias::new("k"));
        }
        for (count, _, _) in TALLY_COUNTS {
            inner.expr_as(col("k", count), Alias::new(count));
        }
        inner
            .expr_as(Self::own_flag(rights), Alias::new("own"))
            .join_as(
                JoinType::InnerJoin,
                programme_run::Entity,
                Alias::new("r"),
                col("r", programme_run::Column::Id).equals((Alias::new("k"), Alias::new("run_id"))),
            );
        self.join_provider(&mut inner);
        if self.uses_service() {
            self.join_service(&mut inner, col("k", "service_id"));
        }
        self.filters(&mut inner);

        let mut q = Query::select();
        self.outer_keys(&mut q, "f");
        q.from_subquery(inner, Alias::new("f"));
        let mut given = Vec::new();
        for (count, total, own) in TALLY_COUNTS {
            given.push((total, sum(col("f", count))));
            given.push((own, sum(col("f", count).mul(col("f", "own")))));
        }
        Self::measures(&mut q, given);
        self.group_outer_keys(&mut q, "f");
        q
    }

    /// Distinct people: persons signed up to the runs, each counted once
    /// per group (with a session kind: present at a session of that kind),
    /// from the participations themselves (`rights` over the run `r` and
    /// the person's service `pe.service_id`).
    fn people(&self, rights: &FactRights) -> SelectStatement {
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
        if self.uses_service() {
            self.join_service(&mut q, col("pe", person::Column::ServiceId));
        }
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
                Alias::new("k"),
                Condition::all()
                    .add(
                        col("k", session::Column::Id)
                            .equals((Alias::new("at"), attendance::Column::SessionId)),
                    )
                    .add(
                        col("k", session::Column::RunId)
                            .equals((Alias::new("pa"), participation::Column::RunId)),
                    ),
            );
        }
        self.filters(&mut q);
        let person = || col("pa", participation::Column::PersonId);
        let own: Expr = match rights {
            FactRights::All => Func::count_distinct(person()).into(),
            FactRights::Nothing => zero(),
            FactRights::Some(own) => Func::count_distinct(Expr::case(own.clone(), person())).into(),
        };
        Self::measures(
            &mut q,
            vec![
                ("people", Func::count_distinct(person()).into()),
                ("people_own", own),
            ],
        );
        self.group_keys(&mut q);
        q
    }

    /// The one statement of the request: at most `limit` rows.
    pub fn statement(&self, viewer: &Viewer, limit: u64) -> WithQuery {
        let rights = |service: Expr| {
            own_people_facts(
                viewer,
                col("r", programme_run::Column::ProgrammeId),
                service,
                services_of_offices,
            )
        };
        let mut union = self.enrolments();
        union.union(UnionType::All, self.sessions());
        union.union(UnionType::All, self.grants(viewer));
        union.union(UnionType::All, self.facts(&rights(col("k", "service_id"))));
        if self.people {
            union.union(
                UnionType::All,
                self.people(&rights(col("pe", person::Column::ServiceId))),
            );
        }

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
            people: true,
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
            assert!(sql.contains("stats_run_service_kind"), "{sql}");
            assert!(sql.contains("COUNT(DISTINCT"), "{sql}");
            assert!(sql.contains("LIMIT"), "{sql}");
        }
    }

    #[test]
    fn facts_come_from_the_tallies_and_people_only_when_asked() {
        let mut p = plan(vec![Dim::Year, Dim::SessionKind]);
        p.people = false;
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"stats_run_service_kind\""), "{sql}");
        assert!(!sql.contains("\"participation\""), "{sql}");
        assert!(!sql.contains("\"attendance\""), "{sql}");
        p.people = true;
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"participation\""), "{sql}");
    }

    #[test]
    fn no_grouping_has_no_group_by_in_the_outer_query() {
        let q = plan(vec![]).statement(&Viewer::anonymous(), 10);
        let sql = q.to_string(PostgresQueryBuilder);
        assert!(!sql.contains("\"k_"), "{sql}");
    }
}
