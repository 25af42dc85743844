//! The SQL of the statistics: one statement per request, built with
//! sea-query, the same on SQLite and PostgreSQL.
//!
//! Services are placed by the table `service_area`: every service with the
//! *current* municipalities it covers (its `service_municipality` rows and
//! its host municipality, followed through the municipality history, so
//! that a service registered for Bø counts for Midt-Telemark) and their
//! counties (see [`crate::domain::service::area`]).
//!
//! Each measure is counted at its own grain, in a branch of its own, and
//! the branches meet in a `UNION ALL` that is summed per group key. Only
//! the measures a request selects are computed ([`Measures`]); the run
//! and people-fact branches are always there (with zeros for the measures
//! not selected) when there are group keys, because together their keys
//! are the rows of the answer, which must not depend on the selection:
//!
//! - runs: the runs made distinct per group key first (a run counts once
//!   per group however many of its enrolled services fall in it), then
//!   counted, with their sessions (from the tally `stats_run_kind`) and
//!   their granted kroner (summed per run first) summed;
//! - services and municipalities: the enrolled services, or the current
//!   municipalities they cover, made distinct per group key and then
//!   counted; per session kind through one flag per kind
//!   (`Plan::session_kind_counts`), so that no (kind, group, thing) list
//!   is built;
//! - people facts: participants, completions, attendance records and
//!   records present, from the tallies `stats_run_service` (per run and
//!   person's service) or, with a session kind, `stats_run_service_kind`
//!   (see [`super::tally`]), so that a request sums tally rows instead of
//!   joining every attendance record;
//! - distinct people: persons signed up, each counted once, from the
//!   participations themselves (`COUNT(DISTINCT …)` per group).
//!
//! A service's area is joined by county alone unless municipalities are
//! grouped, filtered or counted, so that it repeats no row within a group.
//! Joins that still fan out (a run enrolling several services of a group)
//! are undone before counting: rows are first made distinct per group key
//! and counted thing (`SELECT DISTINCT`, which PostgreSQL hashes where
//! `COUNT(DISTINCT …)` would sort many small groups), then counted or
//! summed. Every people count is taken twice: in full and over the facts
//! the viewer has full rights to (see [`crate::auth::policy::statistics`]).

use entity::enums::{GrantStatus, RunStatus, ServiceKind, SessionKind};
use entity::{
    enrolment, funding_grant, municipality, participation, person, programme_provider,
    programme_run, service, service_area, stats_run_kind, stats_run_person_kind, stats_run_service,
    stats_run_service_kind,
};
use sea_orm::Condition;
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, Func, IntoIden, JoinType, Query,
    SelectStatement, TableRef, UnionType, WithClause,
};
use uuid::Uuid;

use crate::auth::policy::statistics::{FactRights, own_people_facts, services_of_offices};
use crate::auth::{Scope, Viewer, policy};

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

/// The measures a request selects; the others are not computed (they
/// read as zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measures {
    /// Runs.
    pub runs: bool,
    /// Sessions.
    pub sessions: bool,
    /// Enrolled services.
    pub services: bool,
    /// Covered municipalities.
    pub municipalities: bool,
    /// Granted kroner.
    pub granted: bool,
    /// The people facts from the tallies: participants, completions,
    /// attendance records and records present.
    pub facts: bool,
    /// Distinct people, the one measure that reads the participations
    /// themselves.
    pub people: bool,
}

impl Measures {
    /// Every measure.
    pub const ALL: Measures = Measures {
        runs: true,
        sessions: true,
        services: true,
        municipalities: true,
        granted: true,
        facts: true,
        people: true,
    };
}

/// A statistics request: its grouping (distinct dimensions, in order),
/// filter, and the measures it selects.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dims: Vec<Dim>,
    pub filter: Filter,
    pub measures: Measures,
}

/// The measure columns of the result, in order.
pub const MEASURES: [&str; 21] = [
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
    "participants_key",
    "completions_key",
    "recorded_key",
    "present_key",
    "people_key",
    "synthetic",
];

/// The name of the common table of the runs' session kinds (see
/// `Plan::run_kind_flags`).
const RUN_KIND_FLAGS: &str = "run_kind_flags";

/// The counts of the people tallies, with their result columns: the
/// count, the viewer's own part, and the sum of the record keys (tally
/// column and result column alike).
const TALLY_COUNTS: [(&str, &str, &str, &str); 4] = [
    (
        "participants",
        "participants",
        "participants_own",
        "participants_key",
    ),
    (
        "completions",
        "completions",
        "completions_own",
        "completions_key",
    ),
    ("recorded", "recorded", "recorded_own", "recorded_key"),
    ("present", "present", "present_own", "present_key"),
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

    /// Whether the area is needed down to the municipality (grouped or
    /// filtered by one); otherwise its counties are enough.
    fn uses_municipality(&self) -> bool {
        self.grouped(Dim::Municipality) || self.filter.municipality.is_some()
    }

    /// Joins `a`, the area of the service whose id is `service`: its
    /// current municipalities with their counties when `municipalities`
    /// (or the plan uses them), else only its distinct counties, so that a
    /// service covering five municipalities of one county is one row, not
    /// five, before anything is made distinct or counted.
    fn join_area(&self, q: &mut SelectStatement, service: Expr, municipalities: bool) {
        let on = col("a", service_area::Column::ServiceId).eq(service);
        if municipalities || self.uses_municipality() {
            q.join_as(
                JoinType::LeftJoin,
                service_area::Entity,
                Alias::new("a"),
                on,
            );
        } else {
            let counties = Query::select()
                .distinct()
                .columns([
                    service_area::Column::ServiceId,
                    service_area::Column::CountyId,
                ])
                .from(service_area::Entity)
                .to_owned();
            q.join_subquery(JoinType::LeftJoin, counties, Alias::new("a"), on);
        }
    }

    /// Whether the service's own row (`s`) is needed: for its kind, or to
    /// filter by one service. The area joins on the service id directly.
    fn uses_service_row(&self) -> bool {
        self.grouped(Dim::ServiceKind)
            || self.filter.service_kind.is_some()
            || self.filter.service.is_some()
    }

    /// Joins `s`, the service whose id is `service`, when its row is
    /// needed, and its area when the area is used (people facts: the
    /// person's service).
    fn join_service(&self, q: &mut SelectStatement, service: Expr) {
        self.join_service_as(q, JoinType::InnerJoin, service, false);
    }

    /// [`Self::join_service`] with the given join type for `s`, and the
    /// area down to its municipalities when `municipalities`.
    fn join_service_as(
        &self,
        q: &mut SelectStatement,
        join: JoinType,
        service: Expr,
        municipalities: bool,
    ) {
        if self.uses_service_row() {
            q.join_as(
                join,
                service::Entity,
                Alias::new("s"),
                col("s", service::Column::Id).eq(service.clone()),
            );
        }
        if self.uses_area() {
            self.join_area(q, service, municipalities);
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

    /// The dimensions other than the session kind.
    fn run_dims(&self) -> Vec<Dim> {
        self.dims
            .iter()
            .copied()
            .filter(|d| *d != Dim::SessionKind)
            .collect()
    }

    /// Joins the enrolments `e` of run `r` and their services `s` (when the
    /// service's row is needed) with `join`, and the services' area `a`
    /// (left) when the area is used, down to its municipalities when
    /// `municipalities`.
    fn join_enrolments(&self, q: &mut SelectStatement, join: JoinType, municipalities: bool) {
        q.join_as(
            join,
            enrolment::Entity,
            Alias::new("e"),
            col("e", enrolment::Column::RunId).equals((Alias::new("r"), programme_run::Column::Id)),
        );
        self.join_service_as(
            q,
            join,
            col("e", enrolment::Column::ServiceId),
            municipalities,
        );
    }

    /// Joins the enrolled services of run `r` (and their area) when the
    /// service side is needed.
    fn join_enrolled_services(&self, q: &mut SelectStatement) {
        if self.uses_service() {
            self.join_enrolments(q, JoinType::LeftJoin, false);
        }
    }

    /// The granted kroner of each run (`run_id`, `total`): its grants
    /// GRANTED, PAID or REPORTED that the viewer may see, summed.
    fn grants_per_run(viewer: &Viewer) -> SelectStatement {
        Query::select()
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
            .to_owned()
    }

    /// Runs, sessions and granted kroner, at the grain of the run. The runs
    /// are first made distinct per group key (`d`: a run counts once per
    /// group however many of its enrolled services fall in it), then joined
    /// to their session tallies (per kind when the kind is grouped or
    /// filtered) and their grants, and counted and summed. Without any of
    /// these measures the branch still gives the group keys of the runs
    /// (see the module), unless there are no group keys.
    fn runs(&self, viewer: &Viewer) -> Option<SelectStatement> {
        let m = self.measures;
        if !(m.runs || m.sessions || m.granted) && self.dims.is_empty() {
            return None;
        }
        let mut d = Query::select();
        d.distinct();
        for dim in self.run_dims() {
            d.expr_as(dim.expr(), Alias::new(dim.key()));
        }
        d.expr_as(col("r", programme_run::Column::Id), Alias::new("u_run"))
            .from_as(programme_run::Entity, Alias::new("r"));
        self.join_provider(&mut d);
        self.join_enrolled_services(&mut d);
        self.run_filters(&mut d);
        self.service_filters(&mut d);

        let run = || (Alias::new("d"), Alias::new("u_run"));
        let key = |dim: Dim| {
            if dim == Dim::SessionKind {
                col("k", stats_run_kind::Column::Kind)
            } else {
                col("d", dim.key())
            }
        };
        let mut q = Query::select();
        for dim in &self.dims {
            q.expr_as(key(*dim), Alias::new(dim.key()));
        }
        q.from_subquery(d, Alias::new("d"));
        let mut given: Vec<(&'static str, Expr)> = Vec::new();
        if self.uses_session() {
            // One row per run and kind (one kind when filtered).
            q.join_as(
                JoinType::InnerJoin,
                stats_run_kind::Entity,
                Alias::new("k"),
                col("k", stats_run_kind::Column::RunId).equals(run()),
            );
            self.session_filter(&mut q);
            if m.sessions {
                given.push(("sessions", sum(col("k", stats_run_kind::Column::Sessions))));
            }
        } else if m.sessions {
            let per_run = Query::select()
                .column(stats_run_kind::Column::RunId)
                .expr_as(
                    Func::sum(Expr::col(stats_run_kind::Column::Sessions)),
                    Alias::new("sessions"),
                )
                .from(stats_run_kind::Entity)
                .group_by_col(stats_run_kind::Column::RunId)
                .to_owned();
            q.join_subquery(
                JoinType::LeftJoin,
                per_run,
                Alias::new("k"),
                col("k", stats_run_kind::Column::RunId).equals(run()),
            );
            given.push(("sessions", sum(col("k", "sessions"))));
        }
        if m.runs {
            given.push(("runs", Func::count(Expr::cust("*")).into()));
        }
        if m.granted {
            q.join_subquery(
                JoinType::LeftJoin,
                Self::grants_per_run(viewer),
                Alias::new("g"),
                col("g", funding_grant::Column::RunId).equals(run()),
            );
            given.push(("granted", sum(col("g", "total"))));
        }
        Self::measures(&mut q, given);
        for dim in &self.dims {
            q.add_group_by([key(*dim)]);
        }
        Some(q)
    }

    /// Enrolled services (`"services"`) or the current municipalities they
    /// cover (`"municipalities"`), each counted once per group.
    ///
    /// The enrolments (joined to their services, and to the area when
    /// municipalities are counted or the area is grouped or filtered) are
    /// first made distinct per group key and counted thing (a hash, where
    /// `COUNT(DISTINCT …)` would sort), then counted. Grouped by session
    /// kind, a run counts for every kind of session it has; there the
    /// runs' kinds are pivoted into one flag per kind
    /// ([`Self::session_kind_counts`]).
    fn entities(&self, measure: &'static str) -> SelectStatement {
        let municipalities = measure == "municipalities";
        let thing = if municipalities {
            col("a", service_area::Column::MunicipalityId)
        } else {
            col("e", enrolment::Column::ServiceId)
        };
        let mut base = Query::select();
        base.from_as(programme_run::Entity, Alias::new("r"));
        self.join_provider(&mut base);
        // Only enrolled services count; a service without an area counts
        // under no county, but has no municipality to count.
        self.join_enrolments(&mut base, JoinType::InnerJoin, municipalities);
        if municipalities {
            if !self.uses_area() {
                self.join_area(&mut base, col("e", enrolment::Column::ServiceId), true);
            }
            base.and_where(col("a", service_area::Column::MunicipalityId).is_not_null());
        }
        self.run_filters(&mut base);
        self.service_filters(&mut base);

        if self.grouped(Dim::SessionKind) {
            return self.session_kind_counts(base, thing, measure);
        }
        if self.uses_session() {
            // Filtered by a kind: the runs with a session of that kind.
            self.join_run_kinds(&mut base);
            self.session_filter(&mut base);
        }
        let mut inner = base;
        inner.distinct();
        self.select_keys(&mut inner);
        inner.expr_as(thing, Alias::new("u"));
        let mut q = Query::select();
        self.outer_keys(&mut q, "x");
        q.from_subquery(inner, Alias::new("x"));
        Self::measures(&mut q, vec![(measure, Func::count(col("x", "u")).into())]);
        self.group_outer_keys(&mut q, "x");
        q
    }

    /// The session kinds of the runs, as the statement's common table
    /// [`RUN_KIND_FLAGS`] (read by both the services and the
    /// municipalities per session kind, so PostgreSQL computes it once):
    /// per run, one flag column per kind of the request (`f0`, `f1`, …),
    /// 1 when the run has a session of that kind.
    fn run_kind_flags(&self) -> CommonTableExpression {
        let mut flags = Query::select();
        flags
            .column(stats_run_kind::Column::RunId)
            .from(stats_run_kind::Entity);
        for (i, kind) in self.session_kinds().iter().enumerate() {
            flags.expr_as(
                Func::max(
                    Expr::case(Expr::col(stats_run_kind::Column::Kind).eq(kind.as_str()), 1)
                        .finally(0),
                ),
                Alias::new(format!("f{i}")),
            );
        }
        flags.group_by_col(stats_run_kind::Column::RunId);
        CommonTableExpression::new()
            .query(flags)
            .table_name(Alias::new(RUN_KIND_FLAGS))
            .to_owned()
    }

    /// The session kinds a request counts per kind: the filter's, or all.
    fn session_kinds(&self) -> Vec<SessionKind> {
        match self.filter.session_kind {
            Some(kind) => vec![kind],
            None => SessionKind::ALL.to_vec(),
        }
    }

    /// Services or municipalities per session kind without listing every
    /// (kind, group, thing): the runs' kinds become one flag column per
    /// kind (`f0`, `f1`, …, from the tally `stats_run_kind`); each thing
    /// takes, per group, the largest flag of its runs; the flags summed per
    /// group are the counts per kind, which a join with the list of kinds
    /// turns into rows (those above zero: a kind no run of the group has
    /// is not a row).
    fn session_kind_counts(
        &self,
        mut base: SelectStatement,
        thing: Expr,
        measure: &'static str,
    ) -> SelectStatement {
        let kinds = self.session_kinds();
        let flag = |i: usize| format!("f{i}");
        base.join_as(
            JoinType::InnerJoin,
            Alias::new(RUN_KIND_FLAGS),
            Alias::new("rf"),
            col("rf", stats_run_kind::Column::RunId)
                .equals((Alias::new("r"), programme_run::Column::Id)),
        );

        // Per group and thing: does a run of each kind include it?
        let run_dims = self.run_dims();
        let mut per_thing = base;
        for d in &run_dims {
            per_thing.expr_as(d.expr(), Alias::new(d.key()));
        }
        for i in 0..kinds.len() {
            per_thing.expr_as(
                Func::max(Expr::col((Alias::new("rf"), Alias::new(flag(i))))),
                Alias::new(flag(i)),
            );
        }
        for d in &run_dims {
            per_thing.add_group_by([d.expr()]);
        }
        per_thing.add_group_by([thing]);

        // Per group: how many things for each kind.
        let mut per_group = Query::select();
        for d in &run_dims {
            per_group.expr_as(col("t", d.key()), Alias::new(d.key()));
        }
        for i in 0..kinds.len() {
            per_group.expr_as(
                Func::sum(Expr::col((Alias::new("t"), Alias::new(flag(i))))),
                Alias::new(flag(i)),
            );
        }
        per_group.from_subquery(per_thing, Alias::new("t"));
        for d in &run_dims {
            per_group.add_group_by([col("t", d.key())]);
        }

        // One row per group and kind.
        let mut list = kinds.iter().map(|kind| {
            Query::select()
                .expr_as(Expr::val(kind.as_str()), Alias::new("kind"))
                .to_owned()
        });
        let mut kind_list = list.next().expect("at least one session kind");
        for more in list {
            kind_list.union(UnionType::All, more);
        }
        let mut count = Expr::case(
            col("kk", "kind").eq(kinds[0].as_str()),
            Expr::col((Alias::new("g"), Alias::new(flag(0)))),
        );
        for (i, kind) in kinds.iter().enumerate().skip(1) {
            count = count.case(
                col("kk", "kind").eq(kind.as_str()),
                Expr::col((Alias::new("g"), Alias::new(flag(i)))),
            );
        }
        let count: Expr = count.finally(0).into();
        let mut q = Query::select();
        for d in &self.dims {
            let key = if *d == Dim::SessionKind {
                col("kk", "kind")
            } else {
                col("g", d.key())
            };
            q.expr_as(key, Alias::new(d.key()));
        }
        // CROSS JOIN, with the groups on the left: SQLite then reads the
        // groups once and the short list of kinds for each (with the kinds
        // outside, it computed the groups again for every kind).
        q.from_subquery(per_group, Alias::new("g"))
            .cross_join(TableRef::SubQuery(
                Box::new(kind_list),
                Alias::new("kk").into_iden(),
            ))
            .and_where(count.clone().gt(0));
        Self::measures(&mut q, vec![(measure, bigint(count))]);
        q
    }

    /// The tally rows of the people facts (`k`) with their run `r`, and
    /// the providers and the person's service (with its area) as the
    /// grouping and filter need, under the request's conditions.
    fn select_tallies(&self, q: &mut SelectStatement) {
        if self.uses_session() {
            q.from_as(stats_run_service_kind::Entity, Alias::new("k"));
        } else {
            q.from_as(stats_run_service::Entity, Alias::new("k"));
        }
        q.join_as(
            JoinType::InnerJoin,
            programme_run::Entity,
            Alias::new("r"),
            col("r", programme_run::Column::Id).equals((Alias::new("k"), Alias::new("run_id"))),
        );
        self.join_provider(q);
        if self.uses_service() {
            self.join_service(q, col("k", "service_id"));
        }
        self.filters(q);
    }

    /// People facts from the tallies: participants, completions, records
    /// and records present, each in full and over the viewer's own facts
    /// (`rights`, over the run `r` and the tally's service `k.service_id`).
    /// When the request selects none of them, only the group keys of the
    /// tallies (see the module), unless there are no group keys.
    fn facts(&self, rights: &FactRights) -> Option<SelectStatement> {
        if !self.measures.facts && self.dims.is_empty() {
            return None;
        }
        // No join repeats a tally row within a group, so each row counts
        // as it is: a programme's providers are distinct, and so are the
        // area rows of a service, by municipality, or by county alone when
        // municipalities are not used (see [`Self::join_area`]).
        let mut q = Query::select();
        self.select_keys(&mut q);
        self.select_tallies(&mut q);
        let mut given = Vec::new();
        if self.measures.facts {
            let own = rights.flag();
            for (count, total, own_total, key) in TALLY_COUNTS {
                given.push((total, sum(col("k", count))));
                given.push((own_total, sum(col("k", count).mul(own.clone()))));
                given.push((key, sum(col("k", key))));
            }
            given.push(("synthetic", sum(col("k", "synthetic"))));
        }
        Self::measures(&mut q, given);
        self.group_keys(&mut q);
        Some(q)
    }

    /// Distinct people: persons signed up to the runs, each counted once
    /// per group, from the participations themselves (`pa`, with the
    /// person `pe` joined only when the rights, grouping or filter need
    /// it); with a session kind, persons signed up and present at a
    /// session of that kind, from their tally (`k`, which carries the
    /// person's service and record key). `rights` are over the run `r` and
    /// the person's service ([`Self::people_service`]).
    fn people(&self, rights: &FactRights) -> SelectStatement {
        let mut q = Query::select();
        // A viewer with full rights on everything sees exact figures, so
        // its statement needs no record keys (and no second distinct sum).
        let keyed = !matches!(rights, FactRights::All);
        let (person, key): (Expr, Expr) = if self.uses_session() {
            q.from_as(stats_run_person_kind::Entity, Alias::new("k"))
                .join_as(
                    JoinType::InnerJoin,
                    programme_run::Entity,
                    Alias::new("r"),
                    col("r", programme_run::Column::Id)
                        .equals((Alias::new("k"), stats_run_person_kind::Column::RunId)),
                );
            (
                col("k", stats_run_person_kind::Column::PersonId),
                col("k", stats_run_person_kind::Column::RecordKey),
            )
        } else {
            q.from_as(participation::Entity, Alias::new("pa")).join_as(
                JoinType::InnerJoin,
                programme_run::Entity,
                Alias::new("r"),
                col("r", programme_run::Column::Id)
                    .equals((Alias::new("pa"), participation::Column::RunId)),
            );
            // The person, for the record key, and the service where the
            // grouping, filter or rights need it.
            if keyed || self.uses_service() {
                q.join_as(
                    JoinType::InnerJoin,
                    person::Entity,
                    Alias::new("pe"),
                    col("pe", person::Column::Id)
                        .equals((Alias::new("pa"), participation::Column::PersonId)),
                );
            }
            (
                col("pa", participation::Column::PersonId),
                col("pe", person::Column::RecordKey),
            )
        };
        self.join_provider(&mut q);
        if self.uses_service() {
            self.join_service(&mut q, self.people_service());
        }
        self.filters(&mut q);
        self.select_keys(&mut q);
        if !keyed {
            // Full rights: each person once per group. `COUNT(DISTINCT …)`
            // sorts each group's persons, which both engines do faster
            // here than hashing every (group, person) pair first (few,
            // large groups).
            let people: Expr = Func::count_distinct(person).into();
            Self::measures(
                &mut q,
                vec![("people", people.clone()), ("people_own", people)],
            );
            self.group_keys(&mut q);
            return q;
        }
        // Each person once per group with its record key, and whether one
        // of its rows is within the viewer's rights; then counted and
        // summed per group. The record keys are summed per person, as the
        // per-service counts sum them, so the same persons give the same
        // sum whichever way a figure is counted.
        q.expr_as(person.clone(), Alias::new("p"))
            .expr_as(key.clone(), Alias::new("rk"))
            .expr_as(Func::max(rights.flag()), Alias::new("own"));
        self.group_keys(&mut q);
        q.add_group_by([person, key]);
        let mut outer = Query::select();
        self.outer_keys(&mut outer, "i");
        Self::measures(
            &mut outer,
            vec![
                ("people", bigint(Func::count(Expr::cust("*")))),
                ("people_own", sum(col("i", "own"))),
                ("people_key", sum(col("i", "rk"))),
            ],
        );
        outer.from_subquery(q, Alias::new("i"));
        self.group_outer_keys(&mut outer, "i");
        outer
    }

    /// Whether distinct people can be summed from the per-service counts
    /// (`stats_service_people`): the grouping and filter are by the
    /// person's service side (area, service kind, service), year, session
    /// kind and programme only, and the viewer's rights depend on the
    /// person's service only (not on a provider's programmes). A person
    /// belongs to one service, so such counts add up over services; over
    /// programmes, providers or networks they would not.
    fn people_sum_applies(&self, viewer: &Viewer) -> bool {
        let f = &self.filter;
        self.dims.iter().all(|d| {
            matches!(
                d,
                Dim::Year
                    | Dim::SessionKind
                    | Dim::Programme
                    | Dim::County
                    | Dim::Municipality
                    | Dim::ServiceKind
            )
        }) && f.provider.is_none()
            && f.network.is_none()
            && f.status.is_none()
            && !viewer
                .scopes
                .iter()
                .any(|s| matches!(s, Scope::Provider { .. }))
    }

    /// Distinct people summed from the per-service counts `y` (see
    /// [`Self::people_sum_applies`]), from the slice of the grouping: per
    /// year or over all years, per programme or over all programmes, per
    /// session kind or signed up. `rights` are
    /// over the service `y.service_id`. The same persons give the same
    /// record-key sum as [`Self::people`] does: both sum it per person.
    fn people_summed(&self, rights: &FactRights) -> SelectStatement {
        let mut q = Query::select();
        q.from_as(Alias::new("stats_service_people"), Alias::new("y"));
        let by_year = self.grouped(Dim::Year) || self.filter.year.is_some();
        let by_programme = self.grouped(Dim::Programme) || self.filter.programme.is_some();
        q.and_where(col("y", "by_year").eq(by_year))
            .and_where(col("y", "by_kind").eq(self.uses_session()))
            .and_where(col("y", "by_programme").eq(by_programme));
        if let Some(year) = self.filter.year {
            q.and_where(col("y", "year").eq(year));
        }
        if let Some(programme) = self.filter.programme {
            q.and_where(col("y", "programme_id").eq(programme));
        }
        if let Some(kind) = self.filter.session_kind {
            q.and_where(col("y", "kind").eq(kind.as_str()));
        }
        if self.uses_service() {
            self.join_service(&mut q, col("y", "service_id"));
        }
        self.service_filters(&mut q);
        let key = |d: Dim| match d {
            Dim::Year => col("y", "year"),
            Dim::SessionKind => col("y", "kind"),
            Dim::Programme => col("y", "programme_id"),
            d => d.expr(),
        };
        for d in &self.dims {
            q.expr_as(key(*d), Alias::new(d.key()));
        }
        let people = || col("y", "people");
        let own = match rights {
            FactRights::All => sum(people()),
            FactRights::Nothing => zero(),
            FactRights::Some(cond) => sum(Expr::case(cond.clone(), people()).finally(0).into()),
        };
        let key_sum = if matches!(rights, FactRights::All) {
            zero()
        } else {
            sum(col("y", "people_key"))
        };
        Self::measures(
            &mut q,
            vec![
                ("people", sum(people())),
                ("people_own", own),
                ("people_key", key_sum),
            ],
        );
        for d in &self.dims {
            q.add_group_by([key(*d)]);
        }
        q
    }

    /// The person's service in the people branch: from the tally with a
    /// session kind, else from the person.
    fn people_service(&self) -> Expr {
        if self.uses_session() {
            col("k", stats_run_person_kind::Column::ServiceId)
        } else {
            col("pe", person::Column::ServiceId)
        }
    }

    /// The one statement of the request: at most `limit` rows.
    pub fn statement(&self, viewer: &Viewer, limit: u64) -> SelectStatement {
        let rights = |service: Expr| {
            own_people_facts(
                viewer,
                col("r", programme_run::Column::ProgrammeId),
                service,
                services_of_offices,
            )
        };
        let m = self.measures;
        let mut branches: Vec<SelectStatement> = Vec::new();
        branches.extend(self.runs(viewer));
        if m.services {
            branches.push(self.entities("services"));
        }
        if m.municipalities {
            branches.push(self.entities("municipalities"));
        }
        branches.extend(self.facts(&rights(col("k", "service_id"))));
        if m.people {
            branches.push(if self.people_sum_applies(viewer) {
                self.people_summed(&rights(col("y", "service_id")))
            } else {
                self.people(&rights(self.people_service()))
            });
        }
        let mut branches = branches.into_iter();
        let mut union = branches.next().unwrap_or_else(|| {
            // Nothing selected and no grouping: the one national row of
            // zeros.
            let mut q = Query::select();
            Self::measures(&mut q, Vec::new());
            q
        });
        for branch in branches {
            union.union(UnionType::All, branch);
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
        if self.grouped(Dim::SessionKind) && (m.services || m.municipalities) {
            q.with_cte(WithClause::new().cte(self.run_kind_flags()).to_owned());
        }
        q.limit(limit);
        q
    }
}

/// The coverage statement: per current county, its current municipalities
/// and their population, and those reached (covered by a service enrolled
/// in a matching run) with theirs. `runs` narrows the runs (conditions on
/// `r`).
pub fn coverage_statement(runs: Condition) -> SelectStatement {
    let reached = Query::select()
        .distinct()
        .expr_as(col("a", "municipality_id"), Alias::new("municipality_id"))
        .from_as(service_area::Entity, Alias::new("a"))
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
    Query::select()
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
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn plan(dims: Vec<Dim>) -> Plan {
        Plan {
            dims,
            filter: Filter::default(),
            measures: Measures::ALL,
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
            assert!(sql.contains("\"service_area\""), "{sql}");
            // Runs, services, municipalities, facts, people; the two
            // counts per session kind list the kinds with UNION ALL too.
            let kinds = SessionKind::ALL.len() - 1;
            assert_eq!(sql.matches("UNION ALL").count(), 4 + 2 * kinds, "{sql}");
            assert!(sql.contains("stats_run_service_kind"), "{sql}");
            assert!(sql.contains("LIMIT"), "{sql}");
        }
    }

    #[test]
    fn facts_come_from_the_tallies_and_people_only_when_asked() {
        let mut p = plan(vec![Dim::Year, Dim::SessionKind]);
        p.measures.people = false;
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"stats_run_service_kind\""), "{sql}");
        assert!(!sql.contains("\"participation\""), "{sql}");
        assert!(!sql.contains("\"attendance\""), "{sql}");
        p.measures.people = true;
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"stats_service_people\""), "{sql}");
        // Per network, distinct people come from the tally of persons
        // present per session kind, never from the attendance records.
        p.dims.push(Dim::Network);
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"stats_run_person_kind\""), "{sql}");
        assert!(!sql.contains("\"attendance\""), "{sql}");
    }

    #[test]
    fn areas_are_joined_by_county_unless_municipalities_are_used() {
        let full = "\"service_area\" AS \"a\"";
        let mut p = plan(vec![Dim::County, Dim::Year]);
        p.measures.municipalities = false;
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert!(!sql.contains(full), "{sql}");
        assert!(
            sql.contains("SELECT DISTINCT \"service_id\", \"county_id\" FROM \"service_area\""),
            "{sql}"
        );
        // Counting municipalities needs them, in that branch only.
        p.measures.municipalities = true;
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert_eq!(sql.matches(full).count(), 1, "{sql}");
        // Grouped or filtered by municipality, every branch needs them.
        let mut p = plan(vec![Dim::County]);
        p.filter.municipality = Some(Uuid::nil());
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        assert!(!sql.contains("SELECT DISTINCT \"service_id\""), "{sql}");
    }

    #[test]
    fn distinct_people_sum_record_keys_per_person() {
        // By network: from the participations, each person once per group
        // with its key.
        let q = plan(vec![Dim::Network]).statement(&Viewer::anonymous(), 10);
        let sql = q.to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"pe\".\"record_key\" AS \"rk\""), "{sql}");
        assert!(sql.contains("SUM(\"i\".\"rk\")"), "{sql}");
        assert!(!sql.contains("DISTINCT \"pe\".\"record_key\""), "{sql}");
        // By year: summed from the per-service counts.
        let q = plan(vec![Dim::Year]).statement(&Viewer::anonymous(), 10);
        let sql = q.to_string(PostgresQueryBuilder);
        assert!(sql.contains("\"stats_service_people\""), "{sql}");
        assert!(!sql.contains("\"participation\""), "{sql}");
    }

    #[test]
    fn a_providers_people_are_counted_from_the_participations() {
        let provider = Viewer::new(
            "p",
            vec![crate::auth::Scope::Provider {
                provider_id: Uuid::nil(),
            }],
        );
        let sql = plan(vec![Dim::Year])
            .statement(&provider, 10)
            .to_string(PostgresQueryBuilder);
        assert!(!sql.contains("\"stats_service_people\""), "{sql}");
        assert!(sql.contains("\"participation\""), "{sql}");
    }

    #[test]
    fn full_rights_need_no_record_keys_for_people() {
        let admin = Viewer::new("a", vec![crate::auth::Scope::Admin]);
        let sql = plan(vec![Dim::Year])
            .statement(&admin, 10)
            .to_string(PostgresQueryBuilder);
        assert!(!sql.contains("record_key"), "{sql}");
        assert!(!sql.contains("\"person\""), "{sql}");
    }

    #[test]
    fn no_grouping_has_no_group_by_in_the_outer_query() {
        let q = plan(vec![]).statement(&Viewer::anonymous(), 10);
        let sql = q.to_string(PostgresQueryBuilder);
        assert!(!sql.contains("\"k_"), "{sql}");
    }

    #[test]
    fn only_selected_measures_are_computed_but_the_rows_stay() {
        let mut p = plan(vec![Dim::SessionKind, Dim::Year]);
        p.measures = Measures {
            runs: false,
            sessions: true,
            services: false,
            municipalities: false,
            granted: false,
            facts: true,
            people: false,
        };
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(PostgresQueryBuilder);
        // No distinct counts, no grants, no enrolled services; the runs
        // still give their group keys.
        assert!(!sql.contains("COUNT(DISTINCT"), "{sql}");
        assert!(!sql.contains("\"funding_grant\""), "{sql}");
        assert!(!sql.contains("\"enrolment\""), "{sql}");
        assert_eq!(
            sql.matches("FROM \"programme_run\" AS \"r\"").count(),
            1,
            "{sql}"
        );

        // Runs alone, nationally: one branch without enrolments or tallies.
        let mut p = plan(vec![]);
        p.measures = Measures {
            runs: true,
            ..Measures::default()
        };
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(SqliteQueryBuilder);
        assert!(!sql.contains("UNION"), "{sql}");
        assert!(!sql.contains("stats_run"), "{sql}");
        assert!(sql.contains("COUNT(*)"), "{sql}");

        // Nothing at all: still one row of zeros.
        let mut p = plan(vec![]);
        p.measures = Measures::default();
        let sql = p
            .statement(&Viewer::anonymous(), 10)
            .to_string(SqliteQueryBuilder);
        assert!(!sql.contains("UNION"), "{sql}");
    }
}
