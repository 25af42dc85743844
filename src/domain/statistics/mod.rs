//! Participation statistics and coverage, computed in the database.
//!
//! `participationStats` answers each request with one grouped SQL
//! statement (see [`sql`]); the rows' key objects (programme, county, …)
//! load through the request's DataLoaders. People figures are protected
//! by [`crate::auth::policy::disclosure`].
//! `coverage` measures how much of the country the programmes reach.

mod coverage;
pub mod sql;
pub mod tally;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::enums::{RunStatus, ServiceKind, SessionKind};
use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use crate::auth::policy::disclosure::{self, Figure, Measure, Protected};
use crate::auth::policy::statistics::sees_grant_sums;
use crate::auth::viewer;
use crate::domain::geography::{County, Municipality};
use crate::domain::money::Kroner;
use crate::domain::network::Network;
use crate::domain::programme::Programme;
use crate::domain::provider::Provider;
use crate::domain::write;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;

pub use coverage::{CountyCoverage, Coverage, CoverageFilter};
use sql::{Dim, Filter, Measures, Plan};

/// The most rows one `participationStats` request returns; a grouping
/// with more is refused with LIMIT_EXCEEDED (narrow it with a filter).
pub const MAX_STATS_ROWS: usize = 10_000;

/// A dimension to group participation statistics by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum StatsDimension {
    /// The programme of the run.
    Programme,
    /// A provider of the run's programme (lead or partner): a run of a
    /// programme with two providers counts for both.
    Provider,
    /// A current county covered by the service (the enrolled service for
    /// runs, services and sessions; the person's service for people
    /// counts). A service covering municipalities in two counties counts
    /// for both.
    County,
    /// A current municipality covered by the service (its registered
    /// municipalities and its host municipality). A service registered for
    /// a municipality that has since merged counts for its successor
    /// (e.g. Bø → Midt-Telemark).
    Municipality,
    /// The kind of the service.
    ServiceKind,
    /// The network the run is organised for.
    Network,
    /// The (starting) year of the run.
    Year,
    /// The kind of session. Sessions and attendance count by their own
    /// kind; runs, services and grants count for each kind of session the
    /// run has; participants and completions count the people present at a
    /// session of that kind.
    SessionKind,
}

impl From<StatsDimension> for Dim {
    fn from(d: StatsDimension) -> Self {
        match d {
            StatsDimension::Programme => Dim::Programme,
            StatsDimension::Provider => Dim::Provider,
            StatsDimension::County => Dim::County,
            StatsDimension::Municipality => Dim::Municipality,
            StatsDimension::ServiceKind => Dim::ServiceKind,
            StatsDimension::Network => Dim::Network,
            StatsDimension::Year => Dim::Year,
            StatsDimension::SessionKind => Dim::SessionKind,
        }
    }
}

/// Which facts participation statistics count. Each object is named by its
/// global id or its natural key (number or slug), as in every list filter;
/// a global id that names no object gives no rows, an unknown natural key
/// is NOT_FOUND.
#[derive(Debug, Default, InputObject)]
pub struct StatsFilter {
    /// Only runs of this programme (a `Programme` id or its slug).
    pub programme: Option<ID>,
    /// Only runs of programmes this provider (a `Provider` id or its slug)
    /// leads or is a partner in.
    pub provider: Option<ID>,
    /// Only runs organised for this network (a `Network` id or its slug).
    pub network: Option<ID>,
    /// Only this service (a `Service` id or its slug): its enrolments, and
    /// its staff for people counts. A LEADER sees exact figures for its own
    /// service.
    pub service: Option<ID>,
    /// Only services covering a municipality of this county (a `County` id
    /// or its two-digit number, e.g. "40"), counting that county's
    /// municipalities only.
    pub county: Option<ID>,
    /// Only services covering this municipality (a `Municipality` id or its
    /// four-digit number, current; ended municipalities count for their
    /// successors).
    pub municipality: Option<ID>,
    /// Only services of this kind.
    pub service_kind: Option<ServiceKind>,
    /// Only runs of this (starting) year.
    pub year: Option<i32>,
    /// Only sessions of this kind (see `StatsDimension.SESSION_KIND`).
    pub session_kind: Option<SessionKind>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
}

impl StatsFilter {
    async fn decode(&self, db: &impl ConnectionTrait) -> ApiResult<Filter> {
        use crate::domain::{geography, service};
        let (programme, provider, network) =
            run_refs(db, &self.programme, &self.provider, &self.network).await?;
        let service = named(&self.service, |s| {
            service::service_id_by_slug(db, s, "filter.service")
        })
        .await?;
        let county = named(&self.county, |s| {
            geography::county_id_by_number(db, s, "filter.county")
        })
        .await?;
        let municipality = named(&self.municipality, |s| {
            geography::municipality_id_by_number(db, s, "filter.municipality")
        })
        .await?;
        Ok(Filter {
            programme,
            provider,
            network,
            service,
            county,
            municipality,
            service_kind: self.service_kind,
            year: self
                .year
                .map(|y| write::year("filter.year", y))
                .transpose()?,
            session_kind: self.session_kind,
            status: self.status,
        })
    }
}

/// The object an optional filter field names (its global id or natural
/// key), found by `lookup`.
async fn named<'a, F, Fut>(value: &'a Option<ID>, lookup: F) -> ApiResult<Option<Uuid>>
where
    F: FnOnce(&'a str) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Uuid>>,
{
    match value {
        Some(v) => lookup(v.as_str().trim()).await.map(Some),
        None => Ok(None),
    }
}

/// The programme, provider and network a statistics or coverage filter
/// names.
pub(super) async fn run_refs(
    db: &impl ConnectionTrait,
    programme: &Option<ID>,
    provider: &Option<ID>,
    network: &Option<ID>,
) -> ApiResult<(Option<Uuid>, Option<Uuid>, Option<Uuid>)> {
    use crate::domain::{network, programme, provider};
    Ok((
        named(programme, |s| {
            programme::programme_id_by_slug(db, s, "filter.programme")
        })
        .await?,
        named(provider, |s| {
            provider::provider_id_by_slug(db, s, "filter.provider")
        })
        .await?,
        named(network, |s| {
            network::network_id_by_slug(db, s, "filter.network")
        })
        .await?,
    ))
}

/// One group of participation statistics: its keys (null for dimensions
/// not grouped by, and for facts without such a key, e.g. runs without a
/// network) and its measures.
///
/// Figures about people (`participants`, `people`, `attendances`,
/// `attendanceRate`, `completions`) go through disclosure control (the
/// cell key method; see the README, "Disclosure control"). A viewer with
/// full rights on every person behind a figure sees it exact: ADMIN; a
/// LEADER the staff of its service; a PROVIDER the people in runs of its
/// programmes; a FUNDER the people of services covering a municipality in
/// its office's counties. Everyone else sees, on every row, a perturbed
/// figure: the true one plus a small noise that depends only on the set of
/// people behind it, so the same figure comes back however it is asked,
/// and the difference of two figures is not the true difference. Zero
/// stays zero; a perturbed figure below 5 is withheld (`null`, and
/// `suppressed` is true). When `participants` is withheld, so are the
/// row's other people figures, so that the records of a few people are
/// protected like their number. Each row is protected in its own right: a
/// total may differ from the sum of its rows.
pub struct ParticipationStatsRow {
    programme: Option<Uuid>,
    provider: Option<Uuid>,
    county: Option<Uuid>,
    municipality: Option<Uuid>,
    service_kind: Option<ServiceKind>,
    network: Option<Uuid>,
    year: Option<i32>,
    session_kind: Option<SessionKind>,
    runs: i64,
    sessions: i64,
    services: i64,
    municipalities: i64,
    granted: Option<i64>,
    participants: Option<i64>,
    people: Option<i64>,
    attendances: Option<i64>,
    attendance_rate: Option<f64>,
    completions: Option<i64>,
    suppressed: bool,
    includes_synthetic_data: bool,
}

/// One group of participation statistics: its keys (null for dimensions
/// not grouped by, and for facts without such a key, e.g. runs without a
/// network) and its measures.
///
/// Figures about people (`participants`, `people`, `attendances`,
/// `attendanceRate`, `completions`) go through disclosure control (the
/// cell key method; see the README, "Disclosure control"). A viewer with
/// full rights on every person behind a figure sees it exact: ADMIN; a
/// LEADER the staff of its service; a PROVIDER the people in runs of its
/// programmes; a FUNDER the people of services covering a municipality in
/// its office's counties. Everyone else sees, on every row, a perturbed
/// figure: the true one plus a small noise that depends only on the set of
/// people behind it, so the same figure comes back however it is asked,
/// and the difference of two figures is not the true difference. Zero
/// stays zero; a perturbed figure below 5 is withheld (`null`, and
/// `suppressed` is true). When `participants` is withheld, so are the
/// row's other people figures, so that the records of a few people are
/// protected like their number. Each row is protected in its own right: a
/// total may differ from the sum of its rows.
#[Object]
impl ParticipationStatsRow {
    /// The programme (when grouped by PROGRAMME).
    async fn programme(&self, ctx: &Context<'_>) -> ApiResult<Option<Programme>> {
        Ok(match self.programme {
            Some(k) => ctx.loaders()?.programme.load_one(k).await?.map(Programme),
            None => None,
        })
    }
    /// The provider (when grouped by PROVIDER; null for programmes without
    /// a registered provider).
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<Provider>> {
        Ok(match self.provider {
            Some(k) => ctx.loaders()?.provider.load_one(k).await?.map(Provider),
            None => None,
        })
    }
    /// The current county (when grouped by COUNTY; null for runs without
    /// enrolled services).
    async fn county(&self, ctx: &Context<'_>) -> ApiResult<Option<County>> {
        Ok(match self.county {
            Some(k) => ctx.loaders()?.county.load_one(k).await?.map(County),
            None => None,
        })
    }
    /// The current municipality (when grouped by MUNICIPALITY; null for
    /// runs without enrolled services).
    async fn municipality(&self, ctx: &Context<'_>) -> ApiResult<Option<Municipality>> {
        Ok(match self.municipality {
            Some(k) => ctx
                .loaders()?
                .municipality
                .load_one(k)
                .await?
                .map(Municipality),
            None => None,
        })
    }
    /// The kind of service (when grouped by SERVICE_KIND).
    async fn service_kind(&self) -> Option<ServiceKind> {
        self.service_kind
    }
    /// The network (when grouped by NETWORK; null for runs without one).
    async fn network(&self, ctx: &Context<'_>) -> ApiResult<Option<Network>> {
        Ok(match self.network {
            Some(k) => ctx.loaders()?.network.load_one(k).await?.map(Network),
            None => None,
        })
    }
    /// The (starting) year of the runs (when grouped by YEAR; null for
    /// runs without a known year).
    async fn year(&self) -> Option<i32> {
        self.year
    }
    /// The kind of session (when grouped by SESSION_KIND; null for runs
    /// without sessions).
    async fn session_kind(&self) -> Option<SessionKind> {
        self.session_kind
    }
    /// Programme runs in the group.
    async fn runs(&self) -> i64 {
        self.runs
    }
    /// Sessions of those runs (for service keys: of the runs the services
    /// were enrolled in).
    async fn sessions(&self) -> i64 {
        self.sessions
    }
    /// Services enrolled in the runs (at any time, including those that
    /// later withdrew).
    async fn services(&self) -> i64 {
        self.services
    }
    /// Current municipalities covered by the enrolled services.
    async fn municipalities(&self) -> i64 {
        self.municipalities
    }
    /// Participations: people signed up to the runs (at any time), once
    /// per run, so a person in two runs of the group counts twice (the
    /// usual count of course statistics); with a session kind, those
    /// present at a session of that kind. Summed from tallies kept by the
    /// writes. Null when suppressed.
    async fn participants(&self) -> Option<i64> {
        self.participants
    }
    /// Distinct people signed up to the runs of the group (at any time),
    /// each counted once however many runs they took part in; with a
    /// session kind, those present at a session of that kind. Grouped and
    /// filtered by area, service, service kind, year, session kind and
    /// programme it is summed from per-service counts; by provider or
    /// network, filtered by run status, or for a provider's token it is
    /// counted from the participations themselves, which makes the
    /// request slower on large groupings. Computed only when selected.
    /// Null when suppressed.
    #[graphql(complexity = "crate::graphql::cost::PEOPLE")]
    async fn people(&self) -> Option<i64> {
        self.people
    }
    /// Attendance records marked present. Null when suppressed.
    async fn attendances(&self) -> Option<i64> {
        self.attendances
    }
    /// Records marked present divided by all attendance records (present
    /// or absent), from 0 to 1, computed from the two figures as protected
    /// (so it carries their noise for viewers without full rights); null
    /// without records, and when either figure is withheld.
    async fn attendance_rate(&self) -> Option<f64> {
        self.attendance_rate
    }
    /// Completed participations: people who completed a run under its
    /// completion rule, once per run (with a session kind, those present
    /// at a session of that kind). Null when suppressed.
    async fn completions(&self) -> Option<i64> {
        self.completions
    }
    /// Kroner granted to the runs: grants GRANTED, PAID or REPORTED that
    /// name a run, among those the viewer may see (`grants`: a FUNDER its
    /// office's, a PROVIDER those naming its programmes or runs, a LEADER
    /// its service's, ADMIN all); null for anonymous and STAFF viewers, who
    /// see no grants. A run's grants count in full in every group the run
    /// is in, so rows of a grouping by county or provider may add up to
    /// more than the total.
    async fn granted_kroner(&self) -> Option<Kroner> {
        self.granted.map(Kroner)
    }
    /// Whether `participants`, `attendances`, `attendanceRate` or
    /// `completions` is withheld (`people`, computed only when selected,
    /// is not counted here: it is null when withheld).
    async fn suppressed(&self) -> bool {
        self.suppressed
    }
    /// Whether the people figures of the row include synthetic persons:
    /// generated test data (the demo's participants and the load-test
    /// data), not real people. Such figures describe no real participation
    /// and must not be reported as if they did. Always false in a register
    /// that holds only real data.
    async fn includes_synthetic_data(&self) -> bool {
        self.includes_synthetic_data
    }
}

/// One row as read from the database, before protection.
struct Raw {
    keys: Vec<Key>,
    runs: i64,
    sessions: i64,
    services: i64,
    municipalities: i64,
    granted: i64,
    participants: Figure,
    people: Figure,
    completions: Figure,
    recorded: Figure,
    present: Figure,
    synthetic: i64,
}

/// A group key value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(Option<Uuid>),
    Year(Option<i32>),
    ServiceKind(Option<ServiceKind>),
    SessionKind(Option<SessionKind>),
}
impl Key {
    /// A sort key: nulls last, ids by their bytes, years in order, kinds in
    /// their declaration order (the same on both engines).
    fn sort_key(&self) -> (bool, u128) {
        fn rank<T: PartialEq>(all: &[T], v: &T) -> u128 {
            all.iter().position(|x| x == v).unwrap_or(usize::MAX) as u128
        }
        match self {
            Key::Id(v) => (v.is_none(), v.map_or(0, |u| u.as_u128())),
            Key::Year(v) => (
                v.is_none(),
                v.map_or(0, |y| (i64::from(y) - i64::from(i32::MIN)) as u128),
            ),
            Key::ServiceKind(v) => (v.is_none(), v.map_or(0, |k| rank(ServiceKind::ALL, &k))),
            Key::SessionKind(v) => (v.is_none(), v.map_or(0, |k| rank(SessionKind::ALL, &k))),
        }
    }
}

fn parse_enum<T: Copy + std::fmt::Display>(all: &[T], text: Option<String>) -> Option<T> {
    text.and_then(|t| all.iter().copied().find(|v| v.to_string() == t))
}

fn read_row(row: &QueryResult, dims: &[Dim]) -> Result<Raw, sea_orm::DbErr> {
    let mut keys = Vec::with_capacity(dims.len());
    for d in dims {
        let col = d.key();
        keys.push(match d {
            Dim::Year => Key::Year(row.try_get("", col)?),
            Dim::ServiceKind => {
                Key::ServiceKind(parse_enum(ServiceKind::ALL, row.try_get("", col)?))
            }
            Dim::SessionKind => {
                Key::SessionKind(parse_enum(SessionKind::ALL, row.try_get("", col)?))
            }
            _ => Key::Id(row.try_get("", col)?),
        });
    }
    let n = |name: &str| -> Result<i64, sea_orm::DbErr> {
        Ok(row.try_get::<Option<i64>>("", name)?.unwrap_or(0))
    };
    let figure = |name: &str| -> Result<Figure, sea_orm::DbErr> {
        Ok(Figure::new(
            n(name)?,
            n(&format!("{name}_own"))?,
            n(&format!("{name}_key"))?,
        ))
    };
    Ok(Raw {
        keys,
        runs: n("runs")?,
        sessions: n("sessions")?,
        services: n("services")?,
        municipalities: n("municipalities")?,
        granted: n("granted")?,
        participants: figure("participants")?,
        people: figure("people")?,
        completions: figure("completions")?,
        recorded: figure("recorded")?,
        present: figure("present")?,
        synthetic: n("synthetic")?,
    })
}

/// Computes the statistics of a request: one statement, then disclosure
/// control.
pub async fn participation_stats(
    db: &impl ConnectionTrait,
    viewer: &crate::auth::Viewer,
    filter: &StatsFilter,
    group_by: &[StatsDimension],
    measures: Measures,
) -> ApiResult<Vec<ParticipationStatsRow>> {
    let people = measures.people;
    let mut dims: Vec<Dim> = Vec::new();
    for d in group_by {
        let d = Dim::from(*d);
        if !dims.contains(&d) {
            dims.push(d);
        }
    }
    let plan = Plan {
        dims: dims.clone(),
        filter: filter.decode(db).await?,
        measures,
    };
    let stmt = db
        .get_database_backend()
        .build(&plan.statement(viewer, MAX_STATS_ROWS as u64 + 1));
    let rows = db.query_all_raw(stmt).await?;
    if rows.len() > MAX_STATS_ROWS {
        return Err(ApiError::LimitExceeded(format!(
            "the grouping has more than {MAX_STATS_ROWS} rows: group by fewer dimensions or add a filter"
        )));
    }
    let mut raw = rows
        .iter()
        .map(|r| read_row(r, &dims))
        .collect::<Result<Vec<_>, _>>()?;
    raw.sort_by_key(|r| r.keys.iter().map(Key::sort_key).collect::<Vec<_>>());

    let sees_grants = sees_grant_sums(viewer);
    Ok(raw
        .into_iter()
        .map(|r| {
            // The row's people gate: the records of a few people are
            // protected like their number.
            let participants = r.participants.protect(Measure::Participants);
            let gated = |f: &Figure, m: Measure| f.protect(m).gate(participants);
            let people_figure = if people {
                gated(&r.people, Measure::People)
            } else {
                Protected::Exact(0)
            };
            let present = gated(&r.present, Measure::Present);
            let recorded = gated(&r.recorded, Measure::Recorded);
            let completions = gated(&r.completions, Measure::Completions);
            let attendance_rate = disclosure::rate(present, recorded);
            let mut row = ParticipationStatsRow {
                programme: None,
                provider: None,
                county: None,
                municipality: None,
                service_kind: None,
                network: None,
                year: None,
                session_kind: None,
                runs: r.runs,
                sessions: r.sessions,
                services: r.services,
                municipalities: r.municipalities,
                granted: sees_grants.then_some(r.granted),
                participants: participants.value(),
                people: people.then(|| people_figure.value()).flatten(),
                attendances: present.value(),
                attendance_rate,
                completions: completions.value(),
                // Not `people`, which is computed only when selected: the
                // flag must not depend on the selection.
                suppressed: participants.is_suppressed()
                    || present.is_suppressed()
                    || completions.is_suppressed()
                    || (recorded.is_suppressed() && r.recorded.total > 0),
                includes_synthetic_data: r.synthetic > 0,
            };
            for (d, k) in dims.iter().zip(r.keys) {
                match (d, k) {
                    (Dim::Programme, Key::Id(v)) => row.programme = v,
                    (Dim::Provider, Key::Id(v)) => row.provider = v,
                    (Dim::County, Key::Id(v)) => row.county = v,
                    (Dim::Municipality, Key::Id(v)) => row.municipality = v,
                    (Dim::Network, Key::Id(v)) => row.network = v,
                    (Dim::Year, Key::Year(v)) => row.year = v,
                    (Dim::ServiceKind, Key::ServiceKind(v)) => row.service_kind = v,
                    (Dim::SessionKind, Key::SessionKind(v)) => row.session_kind = v,
                    _ => {}
                }
            }
            row
        })
        .collect())
}

/// Root fields of statistics.
#[derive(Default)]
pub struct StatisticsQuery;

#[Object]
impl StatisticsQuery {
    /// Participation statistics, computed in the database with one grouped
    /// query: runs, sessions, services, municipalities, participants,
    /// distinct people, attendances, attendance rate, completions and
    /// granted kroner, for
    /// the facts the filter selects, grouped by any combination of
    /// dimensions (none: one national row). Only the measures the query
    /// selects are computed, so a narrow selection answers faster; the rows
    /// are the same whatever the selection. Granted kroner follow the
    /// viewer's rights on grants. Rows come in a stable order of
    /// their group keys (in the order of `groupBy`; kinds in the order of
    /// their enum, empty keys last). Open to everyone; people figures are
    /// exact only for viewers with full rights on every person behind them,
    /// and perturbed or withheld for others (see `ParticipationStatsRow`).
    /// At most 10 000 rows, and 20 000 rows over all the statistics and
    /// grant totals of one request (LIMIT_EXCEEDED beyond).
    #[graphql(
        complexity = "crate::graphql::cost::participation_stats(filter.as_ref(), &group_by, child_complexity)"
    )]
    async fn participation_stats(
        &self,
        ctx: &Context<'_>,
        filter: Option<StatsFilter>,
        #[graphql(desc = "The dimensions to group by, in order; empty for one national row.")]
        group_by: Vec<StatsDimension>,
    ) -> ApiResult<Vec<ParticipationStatsRow>> {
        let turn = crate::graphql::admission::heavy(ctx).await?;
        let viewer = viewer(ctx)?;
        // Only the measures the selection asks for are computed.
        let selected = ctx.look_ahead();
        let any = |fields: &[&str]| fields.iter().any(|f| selected.field(f).exists());
        let measures = Measures {
            runs: any(&["runs"]),
            sessions: any(&["sessions"]),
            services: any(&["services"]),
            municipalities: any(&["municipalities"]),
            granted: any(&["grantedKroner"]) && sees_grant_sums(viewer),
            // Every people figure is gated by the row's participants, so
            // distinct people need the facts too.
            facts: any(&[
                "participants",
                "people",
                "attendances",
                "attendanceRate",
                "completions",
                "suppressed",
                "includesSyntheticData",
            ]),
            people: any(&["people"]),
        };
        let rows = participation_stats(
            ctx.db()?,
            viewer,
            &filter.unwrap_or_default(),
            &group_by,
            measures,
        )
        .await?;
        turn.spend_rows(rows.len())?;
        Ok(rows)
    }

    /// How far the programmes reach: current municipalities and their
    /// population reached by the runs the filter selects, against the
    /// totals of the reference data, nationally and per county, with the
    /// programmes' own reported milestones beside them. Open to everyone
    /// (no people counts).
    #[graphql(complexity = "crate::graphql::cost::COVERAGE + child_complexity")]
    async fn coverage(
        &self,
        ctx: &Context<'_>,
        filter: Option<CoverageFilter>,
    ) -> ApiResult<Coverage> {
        let _turn = crate::graphql::admission::heavy(ctx).await?;
        coverage::coverage(ctx.db()?, filter.unwrap_or_default()).await
    }
}
