//! Persons (staff of services), their participation in runs, and their
//! attendance: personal data.
//!
//! Every path to these rows (`persons`, `Service.staff`,
//! `ProgrammeRun.participants`, `Person.participations`, `node`) goes
//! through loaders or queries that carry the viewer's row rule from
//! [`crate::auth::policy`]; contact details have a field rule of their own.

pub mod completion;
pub mod privacy;
pub mod retention;
pub mod subject_access;
pub mod write;

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::enums::{ParticipationRole, ParticipationStatus};
use entity::{attendance, participation, person};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::auth::{policy, viewer};
use crate::domain::run::{ProgrammeRun, Session};
use crate::domain::service::{Service, service_id_by_slug};
use crate::domain::text_search;
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, asc, page_cost, paginate};
use crate::graphql::{ContextExt, id};

/// A staff member of a service.
pub struct Person(pub person::Model);

impl From<person::Model> for Person {
    fn from(m: person::Model) -> Self {
        Self(m)
    }
}

/// A staff member of a service: personal data. Visible to the person
/// (STAFF), the leader of their service, providers of runs they take part
/// in (name only), and ADMIN.
#[Object]
impl Person {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Person", self.0.id)
    }
    /// Full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// E-mail address: for the person, the leader of their service and
    /// ADMIN; `null` for other viewers (providers see names only).
    async fn email(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        let v = viewer(ctx)?;
        Ok(policy::may_see_contact_details(v, &self.0)
            .then_some(self.0.email.as_deref())
            .flatten())
    }
    /// Job title, under the same rule as `email`.
    async fn job_title(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        let v = viewer(ctx)?;
        Ok(policy::may_see_contact_details(v, &self.0)
            .then_some(self.0.job_title.as_deref())
            .flatten())
    }
    /// Whether the person is a leader in their service.
    async fn is_leader(&self) -> bool {
        self.0.is_leader
    }
    /// Whether this is made-up demo data (all persons of the demo are).
    async fn synthetic(&self) -> bool {
        self.0.synthetic
    }
    /// Whether the person's personal data was erased (`erasePerson` or the
    /// retention rule): the name is `(slettet)`, e-mail and job title are
    /// null, and the person takes no more writes. Its participation and
    /// attendance still count in the statistics, anonymously.
    async fn erased(&self) -> bool {
        self.0.erased_at.is_some()
    }
    /// Optimistic-locking version: pass it to `updatePerson`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The service the person works in.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Service> {
        ctx.loaders()?
            .service
            .load_one(self.0.service_id)
            .await?
            .map(Into::into)
            .ok_or_else(|| ApiError::internal("person without service"))
    }
    /// The runs the person takes part in, as far as the viewer may see.
    async fn participations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Participation>> {
        let rows = ctx
            .loaders()?
            .participations_by_person
            .load_one(self.0.id)
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(Participation)
            .collect())
    }
}

/// A person's participation in a programme run.
pub struct Participation(pub participation::Model);

impl From<participation::Model> for Participation {
    fn from(m: participation::Model) -> Self {
        Self(m)
    }
}

/// A person's participation in a programme run, with their attendance:
/// personal data under the same rules as the person (a provider sees the
/// participants of its own runs).
#[Object]
impl Participation {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Participation", self.0.id)
    }
    /// The participant.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Ok(ctx
            .loaders()?
            .person
            .load_one(self.0.person_id)
            .await?
            .map(Person))
    }
    /// The run.
    async fn run(&self, ctx: &Context<'_>) -> ApiResult<ProgrammeRun> {
        ctx.loaders()?
            .run
            .load_one(self.0.run_id)
            .await?
            .map(Into::into)
            .ok_or_else(|| ApiError::internal("participation without run"))
    }
    /// Whether the person takes part as staff or as a leader (leaders are
    /// expected at the leader sessions too).
    async fn role(&self) -> ParticipationRole {
        self.0.role
    }
    /// Active or withdrawn.
    async fn status(&self) -> ParticipationStatus {
        self.0.status
    }
    /// Whether this is made-up demo data.
    async fn synthetic(&self) -> bool {
        self.0.synthetic
    }
    /// Sessions meant for the participant that they attended. STAFF
    /// participants are measured against the run's ALL_STAFF sessions,
    /// LEADER participants against all its sessions.
    async fn sessions_attended(&self) -> i32 {
        self.0.sessions_attended
    }
    /// Sessions of the run meant for the participant (by audience).
    async fn sessions_required(&self) -> i32 {
        self.0.sessions_required
    }
    /// Whether the participant has completed the programme: active, and
    /// the share of `sessionsRequired` attended reaches the programme's
    /// `completionRule.minAttendancePercent` (all of them where it sets
    /// none). Derived from attendance, never typed in; it follows every
    /// change of attendance, sessions and the rule.
    async fn completed(&self) -> bool {
        self.0.completed
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The person's recorded attendance at the sessions of this run, in
    /// session order.
    async fn attendance(&self, ctx: &Context<'_>) -> ApiResult<Vec<AttendanceRecord>> {
        let loaders = ctx.loaders()?;
        let sessions = loaders
            .sessions_by_run
            .load_one(self.0.run_id)
            .await?
            .unwrap_or_default();
        let in_run: HashSet<uuid::Uuid> = sessions.iter().map(|s| s.id).collect();
        // The loader applies the viewer's attendance rule by itself (a
        // provider gets the rows of its own runs only); this participation
        // shows those of its own run.
        let rows = loaders
            .attendance_by_person
            .load_one(self.0.person_id)
            .await?
            .unwrap_or_default();
        let mut records: Vec<(i32, AttendanceRecord)> = rows
            .into_iter()
            .filter(|a| in_run.contains(&a.session_id))
            .map(|a| {
                let position = sessions
                    .iter()
                    .find(|s| s.id == a.session_id)
                    .map_or(i32::MAX, |s| s.position);
                (position, AttendanceRecord(a))
            })
            .collect();
        records.sort_by_key(|(position, _)| *position);
        Ok(records.into_iter().map(|(_, r)| r).collect())
    }
}

/// Whether a person was at a session.
pub struct AttendanceRecord(pub attendance::Model);

/// Whether a person was at a session.
#[Object(name = "Attendance")]
impl AttendanceRecord {
    /// The session.
    async fn session(&self, ctx: &Context<'_>) -> ApiResult<Session> {
        ctx.loaders()?
            .session
            .load_one(self.0.session_id)
            .await?
            .map(Into::into)
            .ok_or_else(|| ApiError::internal("attendance without session"))
    }
    /// The person.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Ok(ctx
            .loaders()?
            .person
            .load_one(self.0.person_id)
            .await?
            .map(Person))
    }
    /// Optimistic-locking version: pass it in `recordAttendance` entries to
    /// refuse a write over someone else's change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Present (`true`) or absent (`false`).
    async fn present(&self) -> bool {
        self.0.present
    }
    /// When the attendance was recorded.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
    /// Whether this is made-up demo data.
    async fn synthetic(&self) -> bool {
        self.0.synthetic
    }
}

/// Which persons to list (within those the viewer may see).
#[derive(Debug, Default, InputObject)]
pub struct PersonFilter {
    /// Part of the name.
    pub search: Option<String>,
    /// Only staff of this service (its global id or slug).
    pub service: Option<String>,
    /// Only participants of this run (its global id), among the
    /// participations the viewer may see.
    pub run: Option<ID>,
}

/// Root fields of people.
#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// The persons the viewer may see, by name: STAFF themselves, a LEADER
    /// their service's staff, a PROVIDER the participants of its runs, an
    /// ADMIN everyone. Anonymous viewers and funders get an empty list.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn persons(
        &self,
        ctx: &Context<'_>,
        filter: Option<PersonFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Person>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = person::Entity::find()
            .filter(policy::visible_persons(viewer(ctx)?))
            .filter(text_search(
                db.get_database_backend(),
                filter.search.as_deref(),
                &[person::Column::Name],
            )?);
        if let Some(slug) = filter.service {
            let service_id = service_id_by_slug(db, &slug, "filter.service").await?;
            select = select.filter(person::Column::ServiceId.eq(service_id));
        }
        if let Some(run) = filter.run {
            let run_id = id::decode_as(&run, "ProgrammeRun", "filter.run")?;
            select = select.filter(
                person::Column::Id.in_subquery(
                    Query::select()
                        .column(participation::Column::PersonId)
                        .from(participation::Entity)
                        // The rows filtered by obey the viewer's rules too:
                        // a participation the viewer may not see selects
                        // nobody.
                        .cond_where(
                            Condition::all()
                                .add(participation::Column::RunId.eq(run_id))
                                .add(policy::visible_participations(viewer(ctx)?)),
                        )
                        .to_owned(),
                ),
            );
        }
        paginate(
            db,
            select,
            &[asc(person::Column::Name), asc(person::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }
}
