//! Runs of programmes, their sessions and enrolments.

mod attendance;
mod query;
pub mod write;

use std::cmp::Ordering;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{Audience, EnrolmentStatus, RunStatus, SessionKind};
use entity::{enrolment, programme_run, session};

use crate::domain::network::Network;
use crate::domain::people::Participation;
use crate::domain::programme::Programme;
use crate::domain::service::Service;
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, KeyPart, PageArgs, page_cost, paginate_vec};
use crate::graphql::{ContextExt, id};

pub use attendance::{AttendanceCounts, AttendanceSummary, AttendanceTally};
pub use query::{
    RunFilter, RunOrder, RunOrderField, RunQuery, SessionFilter, SessionOrder, SessionOrderField,
};

/// One run (gjennomføring) of a programme: a delivery for a network or a
/// set of enrolled services, with its sessions.
pub struct ProgrammeRun(pub programme_run::Model);

impl From<programme_run::Model> for ProgrammeRun {
    fn from(m: programme_run::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl ProgrammeRun {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("ProgrammeRun", self.0.id)
    }
    /// The programme being run.
    async fn programme(&self, ctx: &Context<'_>) -> ApiResult<Programme> {
        ctx.loaders()?
            .programme
            .load_one(self.0.programme_id)
            .await?
            .map(Programme::from)
            .ok_or_else(|| ApiError::internal("run without programme"))
    }
    /// The network the run is organised for, if any.
    async fn network(&self, ctx: &Context<'_>) -> ApiResult<Option<Network>> {
        match self.0.network_id {
            Some(id) => Ok(ctx.loaders()?.network.load_one(id).await?.map(Network)),
            None => Ok(None),
        }
    }
    /// The title of the run.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Planned, running, completed or cancelled.
    async fn status(&self) -> RunStatus {
        self.0.status
    }
    /// The (starting) year of the run, where known.
    async fn year(&self) -> Option<i32> {
        self.0.year
    }
    /// The first day of the run, where known.
    async fn starts_on(&self) -> Option<NaiveDate> {
        self.0.starts_on
    }
    /// The last day of the run, where known.
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.ends_on
    }
    /// When the run takes place, in words, where exact dates are not known
    /// (e.g. "autumn 2022").
    async fn period(&self) -> Option<&str> {
        self.0.period.as_deref()
    }
    /// Free-text notes about the run.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Where the record comes from (e.g. the public text it is taken from).
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The sessions (samlinger, undervisningsdager …) of the run, in their
    /// order.
    async fn sessions(&self, ctx: &Context<'_>) -> ApiResult<Vec<Session>> {
        let rows = ctx.loaders()?.sessions_by_run.load_one(self.0.id).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Session).collect())
    }
    /// The participants of the run as far as the viewer may see them (a
    /// PROVIDER those of its own runs, a LEADER its staff, STAFF
    /// themselves, ADMIN all; others an empty list).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn participants(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Participation>> {
        let rows = ctx
            .loaders()?
            .participations_by_run
            .load_one(self.0.id)
            .await?;
        let items = rows
            .unwrap_or_default()
            .into_iter()
            .map(Participation)
            .collect();
        paginate_vec(
            items,
            "id",
            |p: &Participation| vec![p.0.id.into()],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
    }
    /// How many sessions the run has.
    async fn session_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let rows = ctx.loaders()?.sessions_by_run.load_one(self.0.id).await?;
        Ok(i32::try_from(rows.map_or(0, |r| r.len())).unwrap_or(i32::MAX))
    }
    /// The services' enrolments (påmeldinger) in the run, in the order they
    /// were registered.
    async fn enrolments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Also list enrolments that were withdrawn.", default = false)]
        include_withdrawn: bool,
    ) -> ApiResult<Vec<Enrolment>> {
        let rows = ctx
            .loaders()?
            .enrolments_by_run
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|e| include_withdrawn || e.status == EnrolmentStatus::Enrolled)
            .map(Enrolment)
            .collect())
    }
    /// The services enrolled in the run (not withdrawn), by name.
    async fn services(&self, ctx: &Context<'_>) -> ApiResult<Vec<Service>> {
        let loaders = ctx.loaders()?;
        let rows = loaders
            .enrolments_by_run
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let ids = rows
            .iter()
            .filter(|e| e.status == EnrolmentStatus::Enrolled)
            .map(|e| e.service_id);
        let mut list: Vec<Service> = loaders
            .service
            .load_many(ids)
            .await?
            .into_values()
            .map(Service)
            .collect();
        list.sort_by(|a, b| a.0.name.cmp(&b.0.name).then(a.0.id.cmp(&b.0.id)));
        Ok(list)
    }
}

/// The order of runs in nested lists: by year, then start date (unknown
/// ones last), then title. The same as the default order of `runs`.
/// The name of the order of [`run_key`] in cursors.
pub const RUN_ORDER: &str = "year,startsOn,title,id";

/// The key of a run in nested lists, in the order of [`run_order`].
pub fn run_key(run: &ProgrammeRun) -> Vec<KeyPart> {
    let r = &run.0;
    vec![
        r.year.into(),
        r.starts_on.into(),
        r.title.as_str().into(),
        r.id.into(),
    ]
}

pub fn run_order(a: &programme_run::Model, b: &programme_run::Model) -> Ordering {
    nulls_last(&a.year, &b.year)
        .then_with(|| nulls_last(&a.starts_on, &b.starts_on))
        .then_with(|| a.title.cmp(&b.title))
        .then(a.id.cmp(&b.id))
}

fn nulls_last<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A service's enrolment (påmelding) in a programme run.
pub struct Enrolment(pub enrolment::Model);

impl From<enrolment::Model> for Enrolment {
    fn from(m: enrolment::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Enrolment {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Enrolment", self.0.id)
    }
    /// The run.
    async fn run(&self, ctx: &Context<'_>) -> ApiResult<ProgrammeRun> {
        load_run(ctx, self.0.run_id).await
    }
    /// The enrolled service.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Service> {
        ctx.loaders()?
            .service
            .load_one(self.0.service_id)
            .await?
            .map(Service)
            .ok_or_else(|| ApiError::internal("enrolment without service"))
    }
    /// Enrolled or withdrawn.
    async fn status(&self) -> EnrolmentStatus {
        self.0.status
    }
    /// When the service enrolled, where known.
    async fn enrolled_on(&self) -> Option<NaiveDate> {
        self.0.enrolled_on
    }
    /// When the service withdrew, for a withdrawn enrolment.
    async fn withdrawn_on(&self) -> Option<NaiveDate> {
        self.0.withdrawn_on
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

async fn load_run(ctx: &Context<'_>, id: uuid::Uuid) -> ApiResult<ProgrammeRun> {
    ctx.loaders()?
        .run
        .load_one(id)
        .await?
        .map(ProgrammeRun)
        .ok_or_else(|| ApiError::internal("dangling run reference"))
}

/// One session of a run: a teaching day, a professional day, a course day,
/// leader guidance, a leader or common gathering, a Kick or Boost …
pub struct Session(pub session::Model);

impl From<session::Model> for Session {
    fn from(m: session::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Session {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Session", self.0.id)
    }
    /// The run the session belongs to.
    async fn run(&self, ctx: &Context<'_>) -> ApiResult<ProgrammeRun> {
        load_run(ctx, self.0.run_id).await
    }
    /// The session's place in the order of its run (1, 2, …).
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The title of the session.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// What kind of session it is.
    async fn kind(&self) -> SessionKind {
        self.0.kind
    }
    /// Who the session is for: all staff or leaders only.
    async fn audience(&self) -> Audience {
        self.0.audience
    }
    /// The day of the session, where known.
    async fn date(&self) -> Option<NaiveDate> {
        self.0.date
    }
    /// When the session starts, where known.
    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at
    }
    /// When the session takes place, in words, where the date is not known
    /// (e.g. "June 2022").
    async fn period(&self) -> Option<&str> {
        self.0.period.as_deref()
    }
    /// The length of the session in minutes, where known.
    async fn duration_minutes(&self) -> Option<i32> {
        self.0.duration_minutes
    }
    /// The length of the session in hours (from `durationMinutes`, to two
    /// decimals), e.g. 3 for a three-hour leader guidance.
    async fn duration_hours(&self) -> Option<f64> {
        self.0.duration_minutes.map(minutes_to_hours)
    }
    /// Where the session takes place, or "digital".
    async fn place(&self) -> Option<&str> {
        self.0.place.as_deref()
    }
    /// The preparation (forarbeid) expected of participants before the
    /// session.
    async fn pre_work(&self) -> Option<&str> {
        self.0.pre_work.as_deref()
    }
    /// Attendance as reported by the provider's own text (e.g. "50
    /// participants on day one"), not counted from registered attendance;
    /// compare `attendance`.
    async fn reported_attendance(&self) -> Option<i32> {
        self.0.reported_attendance
    }
    /// Whether `reportedAttendance` is an approximate figure ("about 30").
    async fn reported_attendance_approximate(&self) -> bool {
        self.0.reported_attendance_approximate
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The registered attendance (people with an attendance record):
    /// exact for viewers with full rights on everyone registered, perturbed
    /// or withheld for others (see `AttendanceSummary`).
    async fn attendance(&self, ctx: &Context<'_>) -> ApiResult<AttendanceSummary> {
        // A session without records counts zero of everything; what the
        // viewer is shown is the policy's decision.
        let tally = ctx
            .loaders()?
            .attendance_by_session
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(tally.protect().into())
    }
}

/// Minutes as hours, rounded to two decimals.
fn minutes_to_hours(minutes: i32) -> f64 {
    (f64::from(minutes) / 60.0 * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(title: &str, year: Option<i32>, starts_on: Option<&str>) -> programme_run::Model {
        programme_run::Model {
            id: uuid::Uuid::now_v7(),
            programme_id: uuid::Uuid::nil(),
            network_id: None,
            title: title.into(),
            status: RunStatus::Planned,
            year,
            starts_on: starts_on.map(|s| s.parse().unwrap()),
            ends_on: None,
            period: None,
            notes: None,
            source: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn runs_sort_by_year_then_date_unknown_last() {
        let mut runs = [
            run("no year", None, None),
            run("2023", Some(2023), None),
            run("2022 autumn", Some(2022), Some("2022-09-01")),
            run("2022 undated", Some(2022), None),
            run("2022 June", Some(2022), Some("2022-06-01")),
        ];
        runs.sort_by(run_order);
        let titles: Vec<&str> = runs.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "2022 June",
                "2022 autumn",
                "2022 undated",
                "2023",
                "no year"
            ]
        );
    }

    #[test]
    fn hours() {
        assert_eq!(minutes_to_hours(180), 3.0);
        assert_eq!(minutes_to_hours(90), 1.5);
        assert_eq!(minutes_to_hours(100), 1.67);
        assert_eq!(minutes_to_hours(0), 0.0);
    }
}
