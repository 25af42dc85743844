//! Writes of programme runs and their sessions: ADMIN and the providers of
//! the run's programme (lead or partner).
//!
//! A run goes PLANNED → RUNNING → COMPLETED through `updateRun`, or to
//! CANCELLED through `cancelRun`; a completed or cancelled run is history
//! and takes no further changes (to itself or its sessions). Session dates
//! must lie within the run's dates where those are set, and a change of
//! the run's dates must keep every session inside. Adding, removing or
//! re-targeting a session recomputes the completion of the run's
//! participants in the same transaction.
//!
//! Session writes lock the run's row (`SELECT … FOR UPDATE` on PostgreSQL;
//! SQLite has one writer anyway), so that two writes to the same run
//! cannot interleave their checks (dates, state, positions).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use entity::enums::{Audience, RunStatus, SessionKind};
use entity::{attendance, network, programme, programme_run, session};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{ProgrammeRun, Session};
use crate::auth::{policy, viewer};
use crate::domain::people::completion;
use crate::domain::statistics::tally;
use crate::domain::write::{self, MAX_NAME, MAX_PROSE, MAX_SHORT, maybe, maybe_text};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// The longest session (minutes): one day.
const MAX_DURATION_MINUTES: i32 = 1440;

// ---------------------------------------------------------------------------
// Inputs and payloads

/// Input of `createRun`.
#[derive(Debug, InputObject)]
pub struct CreateRunInput {
    /// The programme the run delivers (the global id of a `Programme`). A
    /// PROVIDER may name only programmes it provides.
    pub programme: ID,
    /// The network the run is organised for (the global id of a
    /// `Network`), if any.
    pub network: Option<ID>,
    /// The title of the run, 1 to 200 characters.
    pub title: String,
    /// The (starting) year of the run, 1990 to 2100. Defaults to the year
    /// of `startsOn`; when both are given they must agree.
    pub year: Option<i32>,
    /// The first day of the run.
    pub starts_on: Option<NaiveDate>,
    /// The last day of the run; not before `startsOn`.
    pub ends_on: Option<NaiveDate>,
    /// When the run takes place, in words, where exact dates are not known
    /// (e.g. "autumn 2025"); at most 200 characters.
    pub period: Option<String>,
    /// Free-text notes about the run; at most 10,000 characters.
    pub notes: Option<String>,
}

/// The result of `createRun`.
#[derive(SimpleObject)]
pub struct CreateRunPayload {
    /// The new run, with status PLANNED.
    pub run: ProgrammeRun,
}

/// Input of `updateRun`. Fields left out keep their value; `null` clears
/// an optional field.
#[derive(Debug, InputObject)]
pub struct UpdateRunInput {
    /// The run to change (global id of a `ProgrammeRun`).
    pub id: ID,
    /// The `version` of the run as you read it; a run changed since is
    /// CONFLICT and nothing changes.
    pub version: i32,
    /// A new title, 1 to 200 characters.
    pub title: Option<String>,
    /// The network the run is organised for (global id of a `Network`);
    /// `null` detaches the run from its network.
    pub network: MaybeUndefined<ID>,
    /// The (starting) year, 1990 to 2100; `null` clears it. Left out while
    /// `startsOn` gets a new date, the year follows that date.
    pub year: MaybeUndefined<i32>,
    /// The first day; no session of the run may lie before it.
    pub starts_on: MaybeUndefined<NaiveDate>,
    /// The last day; not before the first, and no session of the run may
    /// lie after it.
    pub ends_on: MaybeUndefined<NaiveDate>,
    /// When the run takes place, in words; at most 200 characters.
    pub period: MaybeUndefined<String>,
    /// Free-text notes; at most 10,000 characters.
    pub notes: MaybeUndefined<String>,
    /// A new status. Allowed: PLANNED → RUNNING and RUNNING → COMPLETED
    /// (or the current status). To cancel a run use `cancelRun`.
    pub status: Option<RunStatus>,
}

/// The result of `updateRun`.
#[derive(SimpleObject)]
pub struct UpdateRunPayload {
    /// The run as changed, with its new `version`.
    pub run: ProgrammeRun,
}

/// Input of `cancelRun`.
#[derive(Debug, InputObject)]
pub struct CancelRunInput {
    /// The run to cancel (global id of a `ProgrammeRun`).
    pub id: ID,
    /// The `version` of the run as you read it.
    pub version: i32,
    /// Why the run is cancelled; appended to the run's notes (at most
    /// 10,000 characters).
    pub reason: Option<String>,
}

/// The result of `cancelRun`.
#[derive(SimpleObject)]
pub struct CancelRunPayload {
    /// The run, now CANCELLED, with its new `version`.
    pub run: ProgrammeRun,
}

/// Input of `createSession`.
#[derive(Debug, InputObject)]
pub struct CreateSessionInput {
    /// The run the session belongs to (global id of a `ProgrammeRun`); it
    /// must be PLANNED or RUNNING.
    pub run: ID,
    /// The title of the session, 1 to 200 characters.
    pub title: String,
    /// What kind of session it is.
    pub kind: SessionKind,
    /// Who the session is for; all staff unless said otherwise.
    #[graphql(default_with = "Audience::AllStaff")]
    pub audience: Audience,
    /// The day of the session; within the run's `startsOn`..`endsOn` where
    /// those are set. Taken from `startsAt` when only that is given.
    pub date: Option<NaiveDate>,
    /// When the session starts. Its day in Norwegian time (Europe/Oslo)
    /// must be `date` when both are given.
    pub starts_at: Option<DateTime<Utc>>,
    /// When the session takes place, in words, where the date is not known
    /// (e.g. "June 2026"); at most 200 characters.
    pub period: Option<String>,
    /// The length of the session in minutes, 1 to 1440.
    pub duration_minutes: Option<i32>,
    /// Where the session takes place, or "digital"; at most 200
    /// characters.
    pub place: Option<String>,
    /// The preparation expected of participants; at most 10,000
    /// characters.
    pub pre_work: Option<String>,
    /// The session's place in the order of its run (1 = first). Defaults
    /// to after the last session; sessions from this position on move one
    /// place down.
    pub position: Option<i32>,
}

/// The result of `createSession`.
#[derive(SimpleObject)]
pub struct CreateSessionPayload {
    /// The new session.
    pub session: Session,
}

/// Input of `updateSession`. Fields left out keep their value; `null`
/// clears an optional field.
#[derive(Debug, InputObject)]
pub struct UpdateSessionInput {
    /// The session to change (global id of a `Session`).
    pub id: ID,
    /// The `version` of the session as you read it; a session changed
    /// since is CONFLICT and nothing changes.
    pub version: i32,
    /// A new title, 1 to 200 characters.
    pub title: Option<String>,
    /// A new kind.
    pub kind: Option<SessionKind>,
    /// A new audience. Changing it recomputes the participants' completion.
    pub audience: Option<Audience>,
    /// The day of the session, within the run's dates. Left out while
    /// `startsAt` gets a new value, the day follows `startsAt`.
    pub date: MaybeUndefined<NaiveDate>,
    /// When the session starts; its day in Norwegian time must be `date`.
    pub starts_at: MaybeUndefined<DateTime<Utc>>,
    /// When the session takes place, in words; at most 200 characters.
    pub period: MaybeUndefined<String>,
    /// The length in minutes, 1 to 1440.
    pub duration_minutes: MaybeUndefined<i32>,
    /// Where the session takes place; at most 200 characters.
    pub place: MaybeUndefined<String>,
    /// The preparation expected of participants; at most 10,000
    /// characters.
    pub pre_work: MaybeUndefined<String>,
    /// A new place in the order of the run (1 to the number of sessions);
    /// the sessions in between move up or down by one.
    pub position: Option<i32>,
}

/// The result of `updateSession`.
#[derive(SimpleObject)]
pub struct UpdateSessionPayload {
    /// The session as changed, with its new `version`.
    pub session: Session,
}

/// Input of `deleteSession`.
#[derive(Debug, InputObject)]
pub struct DeleteSessionInput {
    /// The session to delete (global id of a `Session`).
    pub id: ID,
    /// The `version` of the session as you read it.
    pub version: i32,
}

/// The result of `deleteSession`.
#[derive(SimpleObject)]
pub struct DeleteSessionPayload {
    /// The global id of the deleted session.
    pub deleted_id: ID,
    /// The run the session belonged to, without it.
    pub run: ProgrammeRun,
}

// ---------------------------------------------------------------------------
// Mutations

/// Mutations of programme runs and sessions (ADMIN and the programme's
/// providers).
#[derive(Default)]
pub struct RunMutation;

#[Object]
impl RunMutation {
    /// Registers a new run of a programme, with status PLANNED. ADMIN and
    /// the programme's providers (lead or partner) may call it.
    async fn create_run(
        &self,
        ctx: &Context<'_>,
        input: CreateRunInput,
    ) -> ApiResult<CreateRunPayload> {
        let viewer = viewer(ctx)?.clone();
        let programme_id = id::decode_as(&input.programme, "Programme", "input.programme")?;
        let network_id = input
            .network
            .as_ref()
            .map(|n| id::decode_as(n, "Network", "input.network"))
            .transpose()?;
        let title = write::text("input.title", &input.title, MAX_NAME)?;
        let year = input
            .year
            .map(|y| write::year("input.year", y))
            .transpose()?;
        check_date_year("input.startsOn", input.starts_on)?;
        check_date_year("input.endsOn", input.ends_on)?;
        write::dates_in_order("input.endsOn", input.starts_on, input.ends_on)?;
        let year = match (year, input.starts_on) {
            (Some(y), Some(d)) if y != d.year() => {
                return Err(year_mismatch("input.year", y, d));
            }
            (Some(y), _) => Some(y),
            (None, d) => d.map(|d| d.year()),
        };
        let period = write::opt_text("input.period", input.period.as_deref(), MAX_SHORT)?;
        let notes = write::opt_text("input.notes", input.notes.as_deref(), MAX_PROSE)?;

        let txn = write::begin(ctx.db()?).await?;
        if programme::Entity::find_by_id(programme_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(ApiError::bad_input(
                "input.programme",
                "`input.programme` names no programme",
            ));
        }
        policy::may_write_programme(&txn, &viewer, programme_id).await?;
        if let Some(network_id) = network_id {
            check_network(&txn, network_id).await?;
        }
        let now = Utc::now();
        let row = programme_run::ActiveModel {
            id: Set(Uuid::now_v7()),
            programme_id: Set(programme_id),
            network_id: Set(network_id),
            title: Set(title),
            status: Set(RunStatus::Planned),
            year: Set(year),
            starts_on: Set(input.starts_on),
            ends_on: Set(input.ends_on),
            period: Set(period),
            notes: Set(notes),
            source: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        write::audit(
            &txn,
            &viewer,
            "createRun",
            "ProgrammeRun",
            row.id,
            None,
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(CreateRunPayload {
            run: ProgrammeRun(row),
        })
    }

    /// Changes a run: its title, network, year, dates, period, notes or
    /// status (PLANNED → RUNNING → COMPLETED). ADMIN and the programme's
    /// providers may call it. A COMPLETED or CANCELLED run takes no more
    /// changes. New dates must keep every session of the run inside them.
    async fn update_run(
        &self,
        ctx: &Context<'_>,
        input: UpdateRunInput,
    ) -> ApiResult<UpdateRunPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "ProgrammeRun", "input.id")?;
        let title = input
            .title
            .as_deref()
            .map(|t| write::text("input.title", t, MAX_NAME))
            .transpose()?;
        let network = maybe(&input.network, |n| {
            id::decode_as(n, "Network", "input.network")
        })?;
        let year = maybe(&input.year, |y| write::year("input.year", *y))?;
        let starts_on = maybe(&input.starts_on, |d| {
            check_date_year("input.startsOn", Some(*d)).map(|()| *d)
        })?;
        let ends_on = maybe(&input.ends_on, |d| {
            check_date_year("input.endsOn", Some(*d)).map(|()| *d)
        })?;
        let period = maybe_text("input.period", &input.period, MAX_SHORT)?;
        let notes = maybe_text("input.notes", &input.notes, MAX_PROSE)?;

        let txn = write::begin(ctx.db()?).await?;
        let run = programme_run::Entity::find_by_id(key)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("programme run"))?;
        policy::may_write_programme(&txn, &viewer, run.programme_id).await?;
        ensure_open(&run, "input.id")?;
        write::check_version("programme run", run.version, input.version)?;

        // The run as it would be.
        let new_starts = starts_on.unwrap_or(run.starts_on);
        let new_ends = ends_on.unwrap_or(run.ends_on);
        if let (Some(a), Some(b)) = (new_starts, new_ends)
            && b < a
        {
            let field = if ends_on.is_some() {
                "input.endsOn"
            } else {
                "input.startsOn"
            };
            return Err(ApiError::bad_input(
                field,
                format!("the run would end ({b}) before it starts ({a})"),
            ));
        }
        let new_year = match (year, starts_on) {
            (Some(y), _) => y,
            (None, Some(Some(d))) => Some(d.year()),
            (None, _) => run.year,
        };
        if let (true, Some(y), Some(d)) = (year.is_some(), new_year, new_starts)
            && y != d.year()
        {
            return Err(year_mismatch("input.year", y, d));
        }
        if let Some(status) = input.status {
            check_transition(run.status, status)?;
        }
        if let Some(Some(network_id)) = network {
            check_network(&txn, network_id).await?;
        }
        if starts_on.is_some() || ends_on.is_some() {
            sessions_within(&txn, run.id, new_starts, new_ends).await?;
        }

        let before = run.clone();
        let mut am = run.into_active_model();
        if let Some(title) = title {
            am.title = Set(title);
        }
        if let Some(network) = network {
            am.network_id = Set(network);
        }
        if year.is_some() || starts_on.is_some() {
            am.year = Set(new_year);
        }
        if let Some(d) = starts_on {
            am.starts_on = Set(d);
        }
        if let Some(d) = ends_on {
            am.ends_on = Set(d);
        }
        if let Some(period) = period {
            am.period = Set(period);
        }
        if let Some(notes) = notes {
            am.notes = Set(notes);
        }
        if let Some(status) = input.status {
            am.status = Set(status);
        }
        let after = write::update_versioned(&txn, am, input.version, "programme run").await?;
        if after.year != before.year {
            // The distinct people per year of the run's services move with
            // it (the run tallies themselves do not hold the year).
            tally::refresh_run(&txn, after.id).await?;
        }
        write::audit(
            &txn,
            &viewer,
            "updateRun",
            "ProgrammeRun",
            after.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdateRunPayload {
            run: ProgrammeRun(after),
        })
    }

    /// Cancels a PLANNED or RUNNING run. ADMIN and the programme's
    /// providers may call it. The reason, if given, is appended to the
    /// run's notes. Enrolments, participations and attendance are kept as
    /// history; the run takes no more changes.
    async fn cancel_run(
        &self,
        ctx: &Context<'_>,
        input: CancelRunInput,
    ) -> ApiResult<CancelRunPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "ProgrammeRun", "input.id")?;
        let reason = write::opt_text("input.reason", input.reason.as_deref(), MAX_PROSE)?;

        let txn = write::begin(ctx.db()?).await?;
        let run = programme_run::Entity::find_by_id(key)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("programme run"))?;
        policy::may_write_programme(&txn, &viewer, run.programme_id).await?;
        ensure_open(&run, "input.id")?;
        write::check_version("programme run", run.version, input.version)?;

        let before = run.clone();
        let notes = match (reason, &run.notes) {
            (None, _) => None,
            (Some(reason), existing) => {
                let line = format!("Cancelled {}: {reason}", Utc::now().date_naive());
                Some(match existing.as_deref().map(str::trim_end) {
                    Some(old) if !old.is_empty() => format!("{old}\n\n{line}"),
                    _ => line,
                })
            }
        };
        let mut am = run.into_active_model();
        am.status = Set(RunStatus::Cancelled);
        if let Some(notes) = notes {
            am.notes = Set(Some(notes));
        }
        let after = write::update_versioned(&txn, am, input.version, "programme run").await?;
        write::audit(
            &txn,
            &viewer,
            "cancelRun",
            "ProgrammeRun",
            after.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        write::commit(txn).await?;
        Ok(CancelRunPayload {
            run: ProgrammeRun(after),
        })
    }

    /// Adds a session to a PLANNED or RUNNING run. ADMIN and the
    /// programme's providers may call it. The participants' completion is
    /// recomputed (the new session counts for those it is meant for).
    async fn create_session(
        &self,
        ctx: &Context<'_>,
        input: CreateSessionInput,
    ) -> ApiResult<CreateSessionPayload> {
        let viewer = viewer(ctx)?.clone();
        let run_id = id::decode_as(&input.run, "ProgrammeRun", "input.run")?;
        let title = write::text("input.title", &input.title, MAX_NAME)?;
        let period = write::opt_text("input.period", input.period.as_deref(), MAX_SHORT)?;
        let place = write::opt_text("input.place", input.place.as_deref(), MAX_SHORT)?;
        let pre_work = write::opt_text("input.preWork", input.pre_work.as_deref(), MAX_PROSE)?;
        let duration = input
            .duration_minutes
            .map(|m| write::in_range("input.durationMinutes", m, 1, MAX_DURATION_MINUTES))
            .transpose()?;
        if let Some(p) = input.position {
            write::in_range("input.position", p, 1, i32::MAX)?;
        }
        check_date_year("input.date", input.date)?;
        let (date, date_field) = session_day(input.date, input.starts_at, input.date.is_some())?;

        let txn = write::begin(ctx.db()?).await?;
        let run = programme_run::Entity::find_by_id(run_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ApiError::bad_input("input.run", "`input.run` names no programme run")
            })?;
        policy::may_write_programme(&txn, &viewer, run.programme_id).await?;
        ensure_open(&run, "input.run")?;
        within_run(&run, date, date_field)?;

        let last = last_position(&txn, run.id).await?;
        let position = match input.position {
            None => last + 1,
            Some(p) => {
                write::in_range("input.position", p, 1, last + 1)?;
                if p <= last {
                    shift_positions(&txn, run.id, p, last, 1, None).await?;
                }
                p
            }
        };
        let now = Utc::now();
        let row = session::ActiveModel {
            id: Set(Uuid::now_v7()),
            run_id: Set(run.id),
            position: Set(position),
            title: Set(title),
            kind: Set(input.kind),
            audience: Set(input.audience),
            date: Set(date),
            starts_at: Set(input.starts_at),
            period: Set(period),
            duration_minutes: Set(duration),
            place: Set(place),
            pre_work: Set(pre_work),
            reported_attendance: Set(None),
            reported_attendance_approximate: Set(false),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        completion::recompute(&txn, run.id, None).await?;
        write::audit(
            &txn,
            &viewer,
            "createSession",
            "Session",
            row.id,
            None,
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(CreateSessionPayload {
            session: Session(row),
        })
    }

    /// Changes a session of a PLANNED or RUNNING run. ADMIN and the
    /// programme's providers may call it. A new date must lie within the
    /// run's dates; a new audience recomputes the participants'
    /// completion. The reported attendance (from public texts) is not
    /// writable.
    async fn update_session(
        &self,
        ctx: &Context<'_>,
        input: UpdateSessionInput,
    ) -> ApiResult<UpdateSessionPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Session", "input.id")?;
        let title = input
            .title
            .as_deref()
            .map(|t| write::text("input.title", t, MAX_NAME))
            .transpose()?;
        let date = maybe(&input.date, |d| {
            check_date_year("input.date", Some(*d)).map(|()| *d)
        })?;
        let starts_at = maybe(&input.starts_at, |t| Ok(*t))?;
        let period = maybe_text("input.period", &input.period, MAX_SHORT)?;
        let place = maybe_text("input.place", &input.place, MAX_SHORT)?;
        let pre_work = maybe_text("input.preWork", &input.pre_work, MAX_PROSE)?;
        let duration = maybe(&input.duration_minutes, |m| {
            write::in_range("input.durationMinutes", *m, 1, MAX_DURATION_MINUTES)
        })?;
        if let Some(p) = input.position {
            write::in_range("input.position", p, 1, i32::MAX)?;
        }

        let txn = write::begin(ctx.db()?).await?;
        let current = session::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        let run = locked_run(&txn, current.run_id).await?;
        policy::may_write_programme(&txn, &viewer, run.programme_id).await?;
        ensure_open(&run, "input.id")?;
        write::check_version("session", current.version, input.version)?;

        // The day and start as they would be. A new start without a new
        // day moves the day along.
        let new_starts_at = starts_at.unwrap_or(current.starts_at);
        let (new_date, date_field) = match (date, starts_at) {
            (Some(d), _) => session_day(d, new_starts_at, true)?,
            (None, Some(Some(t))) => session_day(None, Some(t), false)?,
            (None, _) => {
                // Only other fields change: the stored day stays.
                (current.date, "input.date")
            }
        };
        if date.is_some() || starts_at.is_some() {
            within_run(&run, new_date, date_field)?;
        }

        let position = match input.position {
            Some(p) if p != current.position => {
                let last = last_position(&txn, run.id).await?;
                write::in_range("input.position", p, 1, last)?;
                if p < current.position {
                    shift_positions(&txn, run.id, p, current.position - 1, 1, Some(key)).await?;
                } else {
                    shift_positions(&txn, run.id, current.position + 1, p, -1, Some(key)).await?;
                }
                Some(p)
            }
            _ => None,
        };

        let audience_changed = input.audience.is_some_and(|a| a != current.audience);
        // The session kind counts in the run's statistics tallies.
        let kind_changed = input.kind.is_some_and(|k| k != current.kind);
        let before = current.clone();
        let mut am = current.into_active_model();
        if let Some(title) = title {
            am.title = Set(title);
        }
        if let Some(kind) = input.kind {
            am.kind = Set(kind);
        }
        if let Some(audience) = input.audience {
            am.audience = Set(audience);
        }
        if date.is_some() || starts_at.is_some() {
            am.date = Set(new_date);
        }
        if let Some(starts_at) = starts_at {
            am.starts_at = Set(starts_at);
        }
        if let Some(period) = period {
            am.period = Set(period);
        }
        if let Some(duration) = duration {
            am.duration_minutes = Set(duration);
        }
        if let Some(place) = place {
            am.place = Set(place);
        }
        if let Some(pre_work) = pre_work {
            am.pre_work = Set(pre_work);
        }
        if let Some(position) = position {
            am.position = Set(position);
        }
        let after = write::update_versioned(&txn, am, input.version, "session").await?;
        if audience_changed {
            completion::recompute(&txn, run.id, None).await?;
        } else if kind_changed {
            // Progress does not depend on the kind; the statistics do.
            tally::refresh_run(&txn, run.id).await?;
        }
        write::audit(
            &txn,
            &viewer,
            "updateSession",
            "Session",
            after.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdateSessionPayload {
            session: Session(after),
        })
    }

    /// Deletes a session of a PLANNED or RUNNING run that has no recorded
    /// attendance. ADMIN and the programme's providers may call it. The
    /// later sessions move up one place, and the participants' completion
    /// is recomputed.
    async fn delete_session(
        &self,
        ctx: &Context<'_>,
        input: DeleteSessionInput,
    ) -> ApiResult<DeleteSessionPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Session", "input.id")?;

        let txn = write::begin(ctx.db()?).await?;
        let current = session::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        let run = locked_run(&txn, current.run_id).await?;
        policy::may_write_programme(&txn, &viewer, run.programme_id).await?;
        ensure_open(&run, "input.id")?;
        let recorded = attendance::Entity::find()
            .filter(attendance::Column::SessionId.eq(key))
            .count(&txn)
            .await?;
        if recorded > 0 {
            return Err(ApiError::bad_input(
                "input.id",
                format!(
                    "attendance is recorded; a session with attendance ({recorded} records) \
                     cannot be deleted"
                ),
            ));
        }
        write::check_version("session", current.version, input.version)?;
        let deleted = session::Entity::delete_many()
            .filter(session::Column::Id.eq(key))
            .filter(session::Column::Version.eq(input.version))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(ApiError::Conflict(format!(
                "the session has changed since version {}; read it again and retry",
                input.version
            )));
        }
        let last = last_position(&txn, run.id).await?;
        if current.position < last {
            shift_positions(&txn, run.id, current.position + 1, last, -1, None).await?;
        }
        completion::recompute(&txn, run.id, None).await?;
        write::audit(
            &txn,
            &viewer,
            "deleteSession",
            "Session",
            key,
            Some(&current),
            None,
        )
        .await?;
        write::commit(txn).await?;
        Ok(DeleteSessionPayload {
            deleted_id: id::encode("Session", key),
            run: ProgrammeRun(run),
        })
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// A date's year must be one the register holds (1990..2100).
fn check_date_year(field: &str, date: Option<NaiveDate>) -> ApiResult<()> {
    if let Some(d) = date
        && !(1990..=2100).contains(&d.year())
    {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` ({d}) must lie between 1990 and 2100"),
        ));
    }
    Ok(())
}

fn year_mismatch(field: &str, year: i32, starts_on: NaiveDate) -> ApiError {
    ApiError::bad_input(
        field,
        format!("`{field}` ({year}) does not match the year of the start date ({starts_on})"),
    )
}

/// A completed or cancelled run is history: it refuses changes to itself
/// and its sessions (BAD_USER_INPUT naming `field`).
fn ensure_open(run: &programme_run::Model, field: &str) -> ApiResult<()> {
    match run.status {
        RunStatus::Planned | RunStatus::Running => Ok(()),
        RunStatus::Cancelled => Err(ApiError::bad_input(
            field,
            "the run is CANCELLED and can no longer be changed",
        )),
        RunStatus::Completed => Err(ApiError::bad_input(
            field,
            "the run is COMPLETED and can no longer be changed",
        )),
    }
}

/// The status changes `updateRun` allows.
fn check_transition(from: RunStatus, to: RunStatus) -> ApiResult<()> {
    match (from, to) {
        (a, b) if a == b => Ok(()),
        (RunStatus::Planned, RunStatus::Running) | (RunStatus::Running, RunStatus::Completed) => {
            Ok(())
        }
        (_, RunStatus::Cancelled) => Err(ApiError::bad_input(
            "input.status",
            "use `cancelRun` to cancel a run",
        )),
        (a, b) => Err(ApiError::bad_input(
            "input.status",
            format!(
                "a run cannot go from {a} to {b}; allowed are PLANNED → RUNNING and RUNNING → COMPLETED"
            ),
        )),
    }
}

async fn check_network(db: &impl ConnectionTrait, network_id: Uuid) -> ApiResult<()> {
    if network::Entity::find_by_id(network_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(ApiError::bad_input(
            "input.network",
            "`input.network` names no network",
        ));
    }
    Ok(())
}

/// The run of a session, its row locked for the rest of the transaction.
async fn locked_run(db: &impl ConnectionTrait, run_id: Uuid) -> ApiResult<programme_run::Model> {
    programme_run::Entity::find_by_id(run_id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal("session without run"))
}

/// Every dated session of the run must lie within `starts..=ends`; the
/// error names the first session outside and the date field at fault.
async fn sessions_within(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    starts: Option<NaiveDate>,
    ends: Option<NaiveDate>,
) -> ApiResult<()> {
    if let Some(starts) = starts {
        let early = session::Entity::find()
            .filter(session::Column::RunId.eq(run_id))
            .filter(session::Column::Date.lt(starts))
            .order_by_asc(session::Column::Date)
            .order_by_asc(session::Column::Position)
            .one(db)
            .await?;
        if let Some(s) = early {
            return Err(ApiError::bad_input(
                "input.startsOn",
                format!(
                    "session {} “{}” on {} would lie before the run's start ({starts})",
                    s.position,
                    s.title,
                    s.date.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(ends) = ends {
        let late = session::Entity::find()
            .filter(session::Column::RunId.eq(run_id))
            .filter(session::Column::Date.gt(ends))
            .order_by_desc(session::Column::Date)
            .order_by_asc(session::Column::Position)
            .one(db)
            .await?;
        if let Some(s) = late {
            return Err(ApiError::bad_input(
                "input.endsOn",
                format!(
                    "session {} “{}” on {} would lie after the run's end ({ends})",
                    s.position,
                    s.title,
                    s.date.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

/// A session's day must lie within the run's dates where set.
fn within_run(run: &programme_run::Model, date: Option<NaiveDate>, field: &str) -> ApiResult<()> {
    let Some(date) = date else {
        return Ok(());
    };
    if let Some(starts) = run.starts_on
        && date < starts
    {
        return Err(ApiError::bad_input(
            field,
            format!("the session's day ({date}) is before the run starts ({starts})"),
        ));
    }
    if let Some(ends) = run.ends_on
        && date > ends
    {
        return Err(ApiError::bad_input(
            field,
            format!("the session's day ({date}) is after the run ends ({ends})"),
        ));
    }
    Ok(())
}

/// The day of a session from its `date` and `startsAt`: they must agree
/// when both are given; without a date the day of `startsAt` is used.
/// Returns the day and the input field it came from (for later errors).
fn session_day(
    date: Option<NaiveDate>,
    starts_at: Option<DateTime<Utc>>,
    date_given: bool,
) -> ApiResult<(Option<NaiveDate>, &'static str)> {
    match (date, starts_at) {
        (Some(d), Some(t)) if oslo_date(t) != d => Err(ApiError::bad_input(
            "input.startsAt",
            format!(
                "the start time ({t}) is on {} in Norwegian time, not on the session's date ({d})",
                oslo_date(t)
            ),
        )),
        (Some(d), _) => Ok((Some(d), "input.date")),
        (None, Some(t)) if !date_given => {
            let d = oslo_date(t);
            check_date_year("input.startsAt", Some(d))?;
            Ok((Some(d), "input.startsAt"))
        }
        (None, Some(_)) if date_given => Err(ApiError::bad_input(
            "input.date",
            "a session with a start time (`startsAt`) has a date: clear `startsAt` too",
        )),
        (None, _) => Ok((None, "input.date")),
    }
}

/// The calendar day of an instant in Norway (Europe/Oslo: UTC+1, and UTC+2
/// from the last Sunday of March to the last Sunday of October, switching
/// at 01:00 UTC).
pub(crate) fn oslo_date(t: DateTime<Utc>) -> NaiveDate {
    let year = t.year();
    let switch = |month: u32| {
        last_sunday(year, month)
            .and_hms_opt(1, 0, 0)
            .map(|dt| dt.and_utc())
    };
    let summer = match (switch(3), switch(10)) {
        (Some(from), Some(to)) => t >= from && t < to,
        _ => false,
    };
    let offset = if summer { 2 } else { 1 };
    (t + Duration::hours(offset)).date_naive()
}

/// The last Sunday of a month with 31 days (March, October).
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or(NaiveDate::MIN);
    let back = match last.weekday() {
        Weekday::Sun => 0,
        w => i64::from(w.num_days_from_sunday()),
    };
    last - Duration::days(back)
}

/// The highest position of the run's sessions (0 without sessions).
async fn last_position(db: &impl ConnectionTrait, run_id: Uuid) -> ApiResult<i32> {
    let max: Option<Option<i32>> = session::Entity::find()
        .select_only()
        .column_as(session::Column::Position.max(), "max")
        .filter(session::Column::RunId.eq(run_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Moves the run's sessions at positions `from..=to` by `by` places
/// (except `skip`). Their `version` stays: the order is the run's, and a
/// client's pending edit of such a session stays valid.
async fn shift_positions(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    from: i32,
    to: i32,
    by: i32,
    skip: Option<Uuid>,
) -> ApiResult<()> {
    let mut update = session::Entity::update_many()
        .col_expr(
            session::Column::Position,
            Expr::col(session::Column::Position).add(by),
        )
        .filter(session::Column::RunId.eq(run_id))
        .filter(session::Column::Position.between(from, to));
    if let Some(skip) = skip {
        update = update.filter(session::Column::Id.ne(skip));
    }
    update.exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norwegian_days() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Winter: UTC+1.
        assert_eq!(oslo_date(t("2025-01-10T22:59:00Z")), d("2025-01-10"));
        assert_eq!(oslo_date(t("2025-01-10T23:00:00Z")), d("2025-01-11"));
        // Summer: UTC+2.
        assert_eq!(oslo_date(t("2025-06-10T21:59:00Z")), d("2025-06-10"));
        assert_eq!(oslo_date(t("2025-06-10T22:00:00Z")), d("2025-06-11"));
        // The switches of 2025: 30 March and 26 October at 01:00 UTC.
        assert_eq!(last_sunday(2025, 3), d("2025-03-30"));
        assert_eq!(last_sunday(2025, 10), d("2025-10-26"));
        assert_eq!(last_sunday(2024, 3), d("2024-03-31"));
    }

    #[test]
    fn transitions() {
        use RunStatus::*;
        assert!(check_transition(Planned, Running).is_ok());
        assert!(check_transition(Running, Completed).is_ok());
        assert!(check_transition(Running, Running).is_ok());
        assert!(check_transition(Planned, Completed).is_err());
        assert!(check_transition(Running, Planned).is_err());
        assert!(check_transition(Planned, Cancelled).is_err());
    }

    #[test]
    fn days_of_sessions() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            session_day(None, Some(t("2025-09-01T07:00:00Z")), false).unwrap(),
            (Some(d("2025-09-01")), "input.startsAt")
        );
        assert!(session_day(Some(d("2025-09-02")), Some(t("2025-09-01T07:00:00Z")), true).is_err());
        assert!(session_day(Some(d("2025-09-01")), Some(t("2025-09-01T07:00:00Z")), true).is_ok());
    }
}
