//! The daily work of participation, written through the API: services
//! enrol in runs, leaders register their staff and sign them up, and
//! attendance is recorded session by session. Completion follows from
//! attendance ([`super::completion`]) in the same transaction.
//!
//! Who may: ADMIN; a LEADER for their own service and its staff; a
//! PROVIDER for the runs of its programmes (enrolment, sign-up and
//! attendance, not the staff register). Persons the viewer may not see are
//! answered as if they did not exist.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{NaiveDate, Utc};
use entity::enums::{Audience, EnrolmentStatus, ParticipationRole, ParticipationStatus, RunStatus};
use entity::{attendance, enrolment, participation, person, programme_run, service, session};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{AttendanceRecord, Participation, Person};
use super::{completion, privacy};
use crate::audit::{self, Change};
use crate::auth::{Viewer, policy, viewer};
use crate::domain::network::today;
use crate::domain::run::{Enrolment, Session};
use crate::domain::write::{
    self, MAX_NAME, MAX_SHORT, check_version, email, opt_text, text, unique_as_conflict,
    update_versioned,
};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// Most entries in one `recordAttendance` call.
pub const MAX_ATTENDANCE_ENTRIES: usize = 1000;

/// Enrols a service in a run.
#[derive(Debug, InputObject)]
pub struct EnrolServiceInput {
    /// The run (`ProgrammeRun` id).
    pub run: ID,
    /// The service (`Service` id).
    pub service: ID,
    /// The day of enrolment; today when left out.
    pub enrolled_on: Option<NaiveDate>,
}

/// The enrolment made (or renewed, for a service that had withdrawn).
#[derive(SimpleObject)]
pub struct EnrolServicePayload {
    /// The enrolment, status ENROLLED.
    pub enrolment: Enrolment,
}

/// Withdraws a service from a run.
#[derive(Debug, InputObject)]
pub struct WithdrawEnrolmentInput {
    /// The enrolment (`Enrolment` id).
    pub id: ID,
    /// The version read.
    pub version: i32,
    /// The day of withdrawal; today when left out.
    pub withdrawn_on: Option<NaiveDate>,
}

/// The withdrawn enrolment.
#[derive(SimpleObject)]
pub struct WithdrawEnrolmentPayload {
    /// The enrolment, status WITHDRAWN; it is kept as history.
    pub enrolment: Enrolment,
    /// How many of the service's active participations in the run were
    /// withdrawn with it.
    pub withdrawn_participations: i32,
}

/// Registers a staff member of a service.
#[derive(Debug, InputObject)]
pub struct RegisterPersonInput {
    /// The service they work in (`Service` id).
    pub service: ID,
    /// Full name.
    pub name: String,
    /// Work e-mail address; unique within the service.
    pub email: Option<String>,
    /// Job title (stillingstittel).
    pub job_title: Option<String>,
    /// Whether they lead the service (may then take part as LEADER).
    #[graphql(default)]
    pub is_leader: bool,
}

/// The registered person.
#[derive(SimpleObject)]
pub struct RegisterPersonPayload {
    /// The new person.
    pub person: Person,
}

/// Changes a staff member; left-out fields keep their value, `null` clears
/// an optional one.
#[derive(Debug, InputObject)]
pub struct UpdatePersonInput {
    /// The person (`Person` id).
    pub id: ID,
    /// The version read.
    pub version: i32,
    /// Full name.
    pub name: Option<String>,
    /// Work e-mail address.
    pub email: MaybeUndefined<String>,
    /// Job title.
    pub job_title: MaybeUndefined<String>,
    /// Whether they lead the service. It cannot be turned off while they
    /// take part as LEADER in a run that is not over.
    pub is_leader: Option<bool>,
}

/// The changed person.
#[derive(SimpleObject)]
pub struct UpdatePersonPayload {
    /// The person as saved.
    pub person: Person,
}

/// Signs a staff member up for a run their service is enrolled in.
#[derive(Debug, InputObject)]
pub struct SignUpInput {
    /// The run (`ProgrammeRun` id).
    pub run: ID,
    /// The person (`Person` id).
    pub person: ID,
    /// STAFF or LEADER; LEADER when the person is a leader, else STAFF,
    /// when left out. LEADER needs a person who leads their service.
    pub role: Option<ParticipationRole>,
}

/// The participation made (or renewed, for a person who had withdrawn).
#[derive(SimpleObject)]
pub struct SignUpPayload {
    /// The participation, status ACTIVE.
    pub participation: Participation,
}

/// Withdraws a participant from a run.
#[derive(Debug, InputObject)]
pub struct WithdrawParticipationInput {
    /// The participation (`Participation` id).
    pub id: ID,
    /// The version read.
    pub version: i32,
}

/// The withdrawn participation.
#[derive(SimpleObject)]
pub struct WithdrawParticipationPayload {
    /// The participation, status WITHDRAWN; its attendance is kept.
    pub participation: Participation,
}

/// One person's attendance at the session.
#[derive(Debug, InputObject)]
pub struct AttendanceEntryInput {
    /// The participant (`Person` id).
    pub person: ID,
    /// Whether they were present.
    pub present: bool,
    /// The version of their attendance row the client read, if it wants
    /// the write refused (CONFLICT) when someone changed it since. Left
    /// out: the entry is set as given.
    pub version: Option<i32>,
}

/// A session's attendance list.
#[derive(Debug, InputObject)]
pub struct RecordAttendanceInput {
    /// The session (`Session` id).
    pub session: ID,
    /// One entry per participant, each person at most once; at most 1000.
    pub entries: Vec<AttendanceEntryInput>,
}

/// What `recordAttendance` did. The list is written whole or not at all;
/// sending the same list again changes nothing.
#[derive(SimpleObject)]
pub struct RecordAttendancePayload {
    /// The session.
    pub session: Session,
    /// The attendance rows of the entries, in the order given.
    pub attendance: Vec<AttendanceRecord>,
    /// Rows created.
    pub created: i32,
    /// Rows whose `present` changed.
    pub changed: i32,
    /// Rows that already said the same.
    pub unchanged: i32,
}

/// Writes of enrolment, staff, participation and attendance.
#[derive(Default)]
pub struct ParticipationMutation;

#[Object]
impl ParticipationMutation {
    /// Enrols a service in a run (ADMIN, the service's LEADER, or the run's
    /// PROVIDER). A service that had withdrawn is enrolled again on the same
    /// row. Not possible in a CANCELLED or COMPLETED run.
    async fn enrol_service(
        &self,
        ctx: &Context<'_>,
        input: EnrolServiceInput,
    ) -> ApiResult<EnrolServicePayload> {
        let viewer = viewer(ctx)?.clone();
        let run_id = id::decode_as(&input.run, "ProgrammeRun", "input.run")?;
        let service_id = id::decode_as(&input.service, "Service", "input.service")?;
        let txn = write::begin(ctx.db()?).await?;
        let run = open_run(&txn, run_id, "input.run").await?;
        if service::Entity::find_by_id(service_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ApiError::bad_input(
                "input.service",
                "`input.service` names no service",
            ));
        }
        policy::may_write_participation(&txn, &viewer, run.programme_id, service_id).await?;
        let on = input.enrolled_on.unwrap_or_else(today);
        let existing = enrolment::Entity::find()
            .filter(enrolment::Column::RunId.eq(run_id))
            .filter(enrolment::Column::ServiceId.eq(service_id))
            .one(&txn)
            .await?;
        let (before, row) = match existing {
            Some(row) if row.status == EnrolmentStatus::Enrolled => {
                return Err(ApiError::bad_input(
                    "input.service",
                    "the service is already enrolled in this run",
                ));
            }
            Some(row) => {
                let version = row.version;
                let mut am = row.clone().into_active_model();
                am.status = Set(EnrolmentStatus::Enrolled);
                am.enrolled_on = Set(Some(on));
                am.withdrawn_on = Set(None);
                let saved = update_versioned(&txn, am, version, "enrolment").await?;
                (Some(row), saved)
            }
            None => {
                let now = Utc::now();
                let row = enrolment::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    run_id: Set(run_id),
                    service_id: Set(service_id),
                    status: Set(EnrolmentStatus::Enrolled),
                    enrolled_on: Set(Some(on)),
                    withdrawn_on: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await
                .map_err(|e| unique_as_conflict("enrolment", e))?;
                (None, row)
            }
        };
        write::audit(
            &txn,
            &viewer,
            "enrolService",
            "Enrolment",
            row.id,
            before.as_ref(),
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(EnrolServicePayload {
            enrolment: row.into(),
        })
    }

    /// Withdraws a service from a run (ADMIN, the service's LEADER, or the
    /// run's PROVIDER). The enrolment is kept with status WITHDRAWN, and the
    /// active participations of the service's staff in the run are
    /// withdrawn with it; recorded attendance stays.
    async fn withdraw_enrolment(
        &self,
        ctx: &Context<'_>,
        input: WithdrawEnrolmentInput,
    ) -> ApiResult<WithdrawEnrolmentPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Enrolment", "input.id")?;
        let txn = write::begin(ctx.db()?).await?;
        let row = enrolment::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("enrolment"))?;
        let run = open_run(&txn, row.run_id, "input.id").await?;
        policy::may_write_participation(&txn, &viewer, run.programme_id, row.service_id).await?;
        if row.status == EnrolmentStatus::Withdrawn {
            return Err(ApiError::bad_input(
                "input.id",
                "the service has already withdrawn",
            ));
        }
        let on = input.withdrawn_on.unwrap_or_else(today);
        write::dates_in_order("input.withdrawnOn", row.enrolled_on, Some(on))?;
        check_version("enrolment", row.version, input.version)?;
        let mut am = row.clone().into_active_model();
        am.status = Set(EnrolmentStatus::Withdrawn);
        am.withdrawn_on = Set(Some(on));
        let saved = update_versioned(&txn, am, input.version, "enrolment").await?;

        // The staff's active participations in the run end with it.
        let staff = participation::Entity::find()
            .filter(participation::Column::RunId.eq(row.run_id))
            .filter(participation::Column::Status.eq(ParticipationStatus::Active))
            .filter(
                participation::Column::PersonId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(person::Column::Id)
                        .from(person::Entity)
                        .and_where(person::Column::ServiceId.eq(row.service_id))
                        .to_owned(),
                ),
            )
            .all(&txn)
            .await?;
        let mut persons = Vec::with_capacity(staff.len());
        for p in &staff {
            let mut am = p.clone().into_active_model();
            am.status = Set(ParticipationStatus::Withdrawn);
            update_versioned(&txn, am, p.version, "participation").await?;
            persons.push(p.person_id);
        }
        if !persons.is_empty() {
            completion::recompute(&txn, row.run_id, Some(&persons)).await?;
        }
        audit::record(
            &txn,
            &viewer,
            Change {
                action: "withdrawEnrolment",
                entity_type: "Enrolment",
                entity_id: row.id,
                change: json!({
                    "before": write::snapshot(&row),
                    "after": write::snapshot(&saved),
                    "withdrawnParticipations": staff.iter().map(|p| p.id).collect::<Vec<_>>(),
                }),
            },
        )
        .await?;
        write::commit(txn).await?;
        Ok(WithdrawEnrolmentPayload {
            enrolment: saved.into(),
            withdrawn_participations: persons.len() as i32,
        })
    }

    /// Registers a staff member of a service (ADMIN or the service's
    /// LEADER).
    async fn register_person(
        &self,
        ctx: &Context<'_>,
        input: RegisterPersonInput,
    ) -> ApiResult<RegisterPersonPayload> {
        let viewer = viewer(ctx)?.clone();
        let service_id = id::decode_as(&input.service, "Service", "input.service")?;
        let name = text("input.name", &input.name, MAX_NAME)?;
        let mail = email("input.email", input.email.as_deref())?;
        let job_title = opt_text("input.jobTitle", input.job_title.as_deref(), MAX_SHORT)?;
        let txn = write::begin(ctx.db()?).await?;
        if service::Entity::find_by_id(service_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ApiError::bad_input(
                "input.service",
                "`input.service` names no service",
            ));
        }
        policy::may_manage_staff(&viewer, service_id)?;
        email_free(&txn, service_id, mail.as_deref(), None).await?;
        let now = Utc::now();
        let row = person::ActiveModel {
            id: Set(Uuid::now_v7()),
            service_id: Set(service_id),
            name: Set(name),
            email: Set(mail),
            job_title: Set(job_title),
            is_leader: Set(input.is_leader),
            synthetic: Set(false),
            record_key: Set(person::new_record_key()),
            erased_at: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(email_race)?;
        write::audit(
            &txn,
            &viewer,
            "registerPerson",
            "Person",
            row.id,
            None,
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(RegisterPersonPayload {
            person: Person(row),
        })
    }

    /// Changes a staff member (ADMIN or the service's LEADER). The person
    /// (STAFF) may correct their own name and e-mail address; the job
    /// title and the leader flag stay with their leader. Audited, with the
    /// record before and after. An erased person takes no changes.
    async fn update_person(
        &self,
        ctx: &Context<'_>,
        input: UpdatePersonInput,
    ) -> ApiResult<UpdatePersonPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Person", "input.id")?;
        let name = input
            .name
            .as_deref()
            .map(|n| text("input.name", n, MAX_NAME))
            .transpose()?;
        let mail =
            write::maybe(&input.email, |v| email("input.email", Some(v)))?.map(Option::flatten);
        let job_title = write::maybe_text("input.jobTitle", &input.job_title, MAX_SHORT)?;
        let txn = write::begin(ctx.db()?).await?;
        let row = visible_person(&txn, &viewer, key)
            .await?
            .ok_or_else(|| ApiError::not_found("person"))?;
        policy::may_update_person(
            &viewer,
            &row,
            policy::PersonChange {
                contact: name.is_some() || mail.is_some(),
                employment: job_title.is_some() || input.is_leader.is_some(),
            },
        )?;
        privacy::not_erased(&row, "input.id")?;
        if let Some(Some(mail)) = &mail {
            email_free(&txn, row.service_id, Some(mail), Some(row.id)).await?;
        }
        if input.is_leader == Some(false) && row.is_leader {
            let leading = participation::Entity::find()
                .filter(participation::Column::PersonId.eq(row.id))
                .filter(participation::Column::Role.eq(ParticipationRole::Leader))
                .filter(participation::Column::Status.eq(ParticipationStatus::Active))
                .inner_join(programme_run::Entity)
                .filter(
                    programme_run::Column::Status.is_in([RunStatus::Planned, RunStatus::Running]),
                )
                .one(&txn)
                .await?;
            if leading.is_some() {
                return Err(ApiError::bad_input(
                    "input.isLeader",
                    "the person takes part as LEADER in a run that is not over; withdraw that participation first",
                ));
            }
        }
        check_version("person", row.version, input.version)?;
        let mut am = row.clone().into_active_model();
        if let Some(name) = name {
            am.name = Set(name);
        }
        if let Some(mail) = mail {
            am.email = Set(mail);
        }
        if let Some(job_title) = job_title {
            am.job_title = Set(job_title);
        }
        if let Some(is_leader) = input.is_leader {
            am.is_leader = Set(is_leader);
        }
        // Only the e-mail index can refuse the new values.
        let saved =
            write::update_versioned_unique(&txn, am, input.version, "person", email_taken).await?;
        write::audit(
            &txn,
            &viewer,
            "updatePerson",
            "Person",
            row.id,
            Some(&row),
            Some(&saved),
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdatePersonPayload {
            person: Person(saved),
        })
    }

    /// Signs a staff member up for a run (ADMIN, their service's LEADER, or
    /// the run's PROVIDER). Their service must be enrolled in the run. A
    /// person who had withdrawn is signed up again on the same row.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> ApiResult<SignUpPayload> {
        let viewer = viewer(ctx)?.clone();
        let run_id = id::decode_as(&input.run, "ProgrammeRun", "input.run")?;
        let person_id = id::decode_as(&input.person, "Person", "input.person")?;
        let txn = write::begin(ctx.db()?).await?;
        let run = open_run(&txn, run_id, "input.run").await?;
        let person = visible_person(&txn, &viewer, person_id)
            .await?
            .ok_or_else(|| {
                ApiError::bad_input("input.person", "`input.person` names no person you can see")
            })?;
        policy::may_write_participation(&txn, &viewer, run.programme_id, person.service_id).await?;
        privacy::not_erased(&person, "input.person")?;
        let enrolled = enrolment::Entity::find()
            .filter(enrolment::Column::RunId.eq(run_id))
            .filter(enrolment::Column::ServiceId.eq(person.service_id))
            .filter(enrolment::Column::Status.eq(EnrolmentStatus::Enrolled))
            .one(&txn)
            .await?;
        if enrolled.is_none() {
            return Err(ApiError::bad_input(
                "input.person",
                "the person's service is not enrolled in this run; enrol it first",
            ));
        }
        let role = input.role.unwrap_or(if person.is_leader {
            ParticipationRole::Leader
        } else {
            ParticipationRole::Staff
        });
        if role == ParticipationRole::Leader && !person.is_leader {
            return Err(ApiError::bad_input(
                "input.role",
                "only a person who leads their service can take part as LEADER",
            ));
        }
        let existing = participation::Entity::find()
            .filter(participation::Column::RunId.eq(run_id))
            .filter(participation::Column::PersonId.eq(person_id))
            .one(&txn)
            .await?;
        let before = match existing {
            Some(row) if row.status == ParticipationStatus::Active => {
                return Err(ApiError::bad_input(
                    "input.person",
                    "the person is already signed up for this run",
                ));
            }
            Some(row) => {
                let mut am = row.clone().into_active_model();
                am.status = Set(ParticipationStatus::Active);
                am.role = Set(role);
                update_versioned(&txn, am, row.version, "participation").await?;
                Some(row)
            }
            None => {
                let now = Utc::now();
                participation::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    person_id: Set(person_id),
                    run_id: Set(run_id),
                    role: Set(role),
                    status: Set(ParticipationStatus::Active),
                    synthetic: Set(false),
                    sessions_attended: Set(0),
                    sessions_required: Set(0),
                    completed: Set(false),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await
                .map_err(|e| unique_as_conflict("participation", e))?;
                None
            }
        };
        completion::recompute(&txn, run_id, Some(&[person_id])).await?;
        let saved = participation_of(&txn, run_id, person_id).await?;
        write::audit(
            &txn,
            &viewer,
            "signUp",
            "Participation",
            saved.id,
            before.as_ref(),
            Some(&saved),
        )
        .await?;
        write::commit(txn).await?;
        Ok(SignUpPayload {
            participation: saved.into(),
        })
    }

    /// Withdraws a participant from a run (ADMIN, their service's LEADER,
    /// or the run's PROVIDER). The participation and its attendance are
    /// kept; a withdrawn participation never counts as completed.
    async fn withdraw_participation(
        &self,
        ctx: &Context<'_>,
        input: WithdrawParticipationInput,
    ) -> ApiResult<WithdrawParticipationPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Participation", "input.id")?;
        let txn = write::begin(ctx.db()?).await?;
        let row = participation::Entity::find_by_id(key)
            .filter(policy::visible_participations(&viewer))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("participation"))?;
        let run = open_run(&txn, row.run_id, "input.id").await?;
        let person = person::Entity::find_by_id(row.person_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::internal("participation without person"))?;
        policy::may_write_participation(&txn, &viewer, run.programme_id, person.service_id).await?;
        if row.status == ParticipationStatus::Withdrawn {
            return Err(ApiError::bad_input(
                "input.id",
                "the participant has already withdrawn",
            ));
        }
        check_version("participation", row.version, input.version)?;
        let mut am = row.clone().into_active_model();
        am.status = Set(ParticipationStatus::Withdrawn);
        update_versioned(&txn, am, input.version, "participation").await?;
        completion::recompute(&txn, row.run_id, Some(&[row.person_id])).await?;
        let saved = participation_of(&txn, row.run_id, row.person_id).await?;
        write::audit(
            &txn,
            &viewer,
            "withdrawParticipation",
            "Participation",
            row.id,
            Some(&row),
            Some(&saved),
        )
        .await?;
        write::commit(txn).await?;
        Ok(WithdrawParticipationPayload {
            participation: saved.into(),
        })
    }

    /// Records a session's attendance list (ADMIN, the run's PROVIDER, or a
    /// LEADER for their own staff). Every person must take part in the run
    /// (an active participation), and only LEADER participants can attend
    /// a LEADERS session. The whole list is checked first and written in one
    /// transaction: one bad entry writes nothing. Sending the same list
    /// again changes nothing. Completion of the participants follows.
    async fn record_attendance(
        &self,
        ctx: &Context<'_>,
        input: RecordAttendanceInput,
    ) -> ApiResult<RecordAttendancePayload> {
        let viewer = viewer(ctx)?.clone();
        let session_id = id::decode_as(&input.session, "Session", "input.session")?;
        if input.entries.len() > MAX_ATTENDANCE_ENTRIES {
            return Err(ApiError::bad_input(
                "input.entries",
                format!("at most {MAX_ATTENDANCE_ENTRIES} entries per call"),
            ));
        }
        let mut person_ids = Vec::with_capacity(input.entries.len());
        let mut seen = HashSet::new();
        for (i, entry) in input.entries.iter().enumerate() {
            let field = format!("input.entries.{i}.person");
            let key = id::decode_as(&entry.person, "Person", &field)?;
            if !seen.insert(key) {
                return Err(ApiError::bad_input(field, "the person is listed twice"));
            }
            person_ids.push(key);
        }

        let txn = write::begin(ctx.db()?).await?;
        let session = session::Entity::find_by_id(session_id)
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ApiError::bad_input("input.session", "`input.session` names no session")
            })?;
        let run = open_run(&txn, session.run_id, "input.session").await?;
        // The run is now locked (PostgreSQL): a session deleted while
        // we waited for the lock is gone when read again.
        if session::Entity::find_by_id(session_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ApiError::bad_input(
                "input.session",
                "`input.session` names no session",
            ));
        }

        let persons: HashMap<Uuid, person::Model> = person::Entity::find()
            .filter(person::Column::Id.is_in(person_ids.iter().copied()))
            .filter(policy::visible_persons(&viewer))
            .all(&txn)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let participations: HashMap<Uuid, participation::Model> = participation::Entity::find()
            .filter(participation::Column::RunId.eq(run.id))
            .filter(participation::Column::PersonId.is_in(person_ids.iter().copied()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|p| (p.person_id, p))
            .collect();
        let mut checked_services = HashSet::new();
        for (i, key) in person_ids.iter().enumerate() {
            let field = format!("input.entries.{i}.person");
            let Some(person) = persons.get(key) else {
                return Err(ApiError::bad_input(field, "names no person you can see"));
            };
            privacy::not_erased(person, &field)?;
            if checked_services.insert(person.service_id) {
                policy::may_write_participation(&txn, &viewer, run.programme_id, person.service_id)
                    .await?;
            }
            match participations.get(key) {
                Some(p) if p.status == ParticipationStatus::Active => {
                    if session.audience == Audience::Leaders
                        && !completion::is_meant_for(session.audience, p.role)
                    {
                        return Err(ApiError::bad_input(
                            field,
                            "the session is for leaders, and the person takes part as STAFF",
                        ));
                    }
                }
                Some(_) => {
                    return Err(ApiError::bad_input(
                        field,
                        "the person has withdrawn from this run",
                    ));
                }
                None => {
                    return Err(ApiError::bad_input(
                        field,
                        "the person is not signed up for this run",
                    ));
                }
            }
        }

        let existing: HashMap<Uuid, attendance::Model> = attendance::Entity::find()
            .filter(attendance::Column::SessionId.eq(session_id))
            .filter(attendance::Column::PersonId.is_in(person_ids.iter().copied()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|a| (a.person_id, a))
            .collect();
        let now = Utc::now();
        let (mut created, mut changed, mut unchanged) = (0, 0, 0);
        let mut log = Vec::new();
        let mut rows = Vec::with_capacity(person_ids.len());
        for (i, (entry, key)) in input.entries.iter().zip(&person_ids).enumerate() {
            match existing.get(key) {
                Some(row) => {
                    if let Some(v) = entry.version {
                        check_version("attendance", row.version, v).map_err(|_| {
                            ApiError::Conflict(format!(
                                "entry {i}: the attendance has changed since version {v}; read it again and retry"
                            ))
                        })?;
                    }
                    if row.present == entry.present {
                        unchanged += 1;
                        rows.push(row.clone());
                        continue;
                    }
                    let mut am = row.clone().into_active_model();
                    am.present = Set(entry.present);
                    am.recorded_at = Set(now);
                    let saved = update_versioned(&txn, am, row.version, "attendance").await?;
                    changed += 1;
                    log.push(
                        json!({ "person": key, "present": entry.present, "before": row.present }),
                    );
                    rows.push(saved);
                }
                None => {
                    if entry.version.is_some_and(|v| v != 0) {
                        return Err(ApiError::Conflict(format!(
                            "entry {i}: no attendance is recorded yet; leave `version` out"
                        )));
                    }
                    let saved = attendance::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        session_id: Set(session_id),
                        person_id: Set(*key),
                        present: Set(entry.present),
                        synthetic: Set(false),
                        recorded_at: Set(now),
                        version: Set(1),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                    .insert(&txn)
                    .await
                    .map_err(|e| unique_as_conflict("attendance", e))?;
                    created += 1;
                    log.push(json!({ "person": key, "present": entry.present, "before": null }));
                    rows.push(saved);
                }
            }
        }
        if created + changed > 0 {
            let touched: Vec<Uuid> = person_ids.clone();
            completion::recompute(&txn, run.id, Some(&touched)).await?;
            audit::record(
                &txn,
                &viewer,
                Change {
                    action: "recordAttendance",
                    entity_type: "Session",
                    entity_id: session_id,
                    change: json!({ "entries": log }),
                },
            )
            .await?;
        }
        write::commit(txn).await?;
        Ok(RecordAttendancePayload {
            session: session.into(),
            attendance: rows.into_iter().map(AttendanceRecord).collect(),
            created,
            changed,
            unchanged,
        })
    }
}

/// The run, which must exist and be open for writes (neither CANCELLED nor
/// COMPLETED), locked for the transaction; errors name `field`.
async fn open_run(
    txn: &DatabaseTransaction,
    run_id: Uuid,
    field: &str,
) -> ApiResult<programme_run::Model> {
    // Exclusive lock: every write that changes the run's sessions, status,
    // participations or attendance takes it, so they take turns and the
    // run's statistics tallies are recounted by one of them at a time.
    let run = programme_run::Entity::find_by_id(run_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::bad_input(field, format!("`{field}` names no run")))?;
    match run.status {
        RunStatus::Cancelled => Err(ApiError::bad_input(
            field,
            "the run is cancelled; it takes no more changes",
        )),
        RunStatus::Completed => Err(ApiError::bad_input(
            field,
            "the run is completed; it takes no more changes",
        )),
        RunStatus::Planned | RunStatus::Running => Ok(run),
    }
}

/// A person, if the viewer may see them.
async fn visible_person(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    key: Uuid,
) -> ApiResult<Option<person::Model>> {
    Ok(person::Entity::find_by_id(key)
        .filter(policy::visible_persons(viewer))
        .one(db)
        .await?)
}

/// Refuses an e-mail address another person of the service already has.
async fn email_free(
    db: &impl ConnectionTrait,
    service_id: Uuid,
    mail: Option<&str>,
    except: Option<Uuid>,
) -> ApiResult<()> {
    let Some(mail) = mail else { return Ok(()) };
    let mut q = person::Entity::find()
        .filter(person::Column::ServiceId.eq(service_id))
        .filter(person::Column::Email.eq(mail));
    if let Some(except) = except {
        q = q.filter(person::Column::Id.ne(except));
    }
    if q.one(db).await?.is_some() {
        return Err(email_taken());
    }
    Ok(())
}

fn email_taken() -> ApiError {
    ApiError::bad_input(
        "input.email",
        "another person of the service has this e-mail address",
    )
}

/// The unique index on (service, e-mail) refused an insert: a concurrent
/// registration took the address first.
fn email_race(err: DbErr) -> ApiError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => email_taken(),
        _ => err.into(),
    }
}

async fn participation_of(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    person_id: Uuid,
) -> ApiResult<participation::Model> {
    participation::Entity::find()
        .filter(participation::Column::RunId.eq(run_id))
        .filter(participation::Column::PersonId.eq(person_id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal("participation vanished in its transaction"))
}
