//! Completion of a participation, derived from attendance and never typed in.
//!
//! The sessions meant for a participant are those whose audience includes
//! them: a STAFF participant is measured against the run's ALL_STAFF
//! sessions, a LEADER participant against all its sessions (ALL_STAFF and
//! LEADERS). A participation is completed when it is active and the share
//! of those sessions attended reaches the programme's
//! `completion_min_percent` (all of them where the programme sets no
//! share). A run without sessions meant for the participant completes no
//! one.
//!
//! The figures are stored on the participation (`sessions_attended`,
//! `sessions_required`, `completed`) so statistics can group on them; every
//! write that can change them (attendance, sessions, sign-up and
//! withdrawal, the programme's rule) calls [`recompute`] in its own
//! transaction, which also recounts the run's statistics tallies.

use std::collections::{HashMap, HashSet};

use entity::enums::{Audience, ParticipationRole, ParticipationStatus};
use entity::{attendance, participation, programme, programme_run, session};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::domain::statistics::tally;

/// A participant's progress in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Sessions meant for the participant that they attended.
    pub attended: i32,
    /// Sessions of the run meant for the participant.
    pub required: i32,
    /// Whether the share meets the rule.
    pub completed: bool,
}

/// Whether a session with `audience` is meant for a participant in `role`.
pub fn is_meant_for(audience: Audience, role: ParticipationRole) -> bool {
    match audience {
        Audience::AllStaff => true,
        Audience::Leaders => role == ParticipationRole::Leader,
    }
}

/// The progress of one participant: `sessions` are the run's sessions with
/// their audience, `present_at` the sessions the person was present at.
pub fn progress(
    role: ParticipationRole,
    status: ParticipationStatus,
    sessions: &[(Uuid, Audience)],
    present_at: &HashSet<Uuid>,
    min_percent: Option<i32>,
) -> Progress {
    let meant: Vec<Uuid> = sessions
        .iter()
        .filter(|(_, audience)| is_meant_for(*audience, role))
        .map(|(id, _)| *id)
        .collect();
    let required = meant.len() as i64;
    let attended = meant.iter().filter(|id| present_at.contains(id)).count() as i64;
    let min = i64::from(min_percent.unwrap_or(100).clamp(0, 100));
    let completed =
        status == ParticipationStatus::Active && required > 0 && attended * 100 >= min * required;
    Progress {
        attended: attended as i32,
        required: required as i32,
        completed,
    }
}

/// Recomputes the progress of the participations in `run_id` (only those of
/// `persons` when given) and writes the ones that changed, then recounts
/// the run's statistics tallies ([`tally::refresh_run`]). Returns how many
/// participations changed. Call it inside the transaction of the write that
/// caused it: every write that changes a run's sessions, participations or
/// attendance does.
pub async fn recompute(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    persons: Option<&[Uuid]>,
) -> Result<u64, DbErr> {
    let changed = recompute_progress(db, run_id, persons).await?;
    tally::refresh_run(db, run_id).await?;
    Ok(changed)
}

/// The progress part of [`recompute`].
async fn recompute_progress(
    db: &impl ConnectionTrait,
    run_id: Uuid,
    persons: Option<&[Uuid]>,
) -> Result<u64, DbErr> {
    let min_percent: Option<Option<i32>> = programme::Entity::find()
        .select_only()
        .column(programme::Column::CompletionMinPercent)
        .inner_join(programme_run::Entity)
        .filter(programme_run::Column::Id.eq(run_id))
        .into_tuple()
        .one(db)
        .await?;
    let Some(min_percent) = min_percent else {
        return Ok(0);
    };
    let sessions: Vec<(Uuid, Audience)> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .column(session::Column::Audience)
        .filter(session::Column::RunId.eq(run_id))
        .into_tuple()
        .all(db)
        .await?;

    let mut select = participation::Entity::find().filter(participation::Column::RunId.eq(run_id));
    if let Some(persons) = persons {
        select = select.filter(participation::Column::PersonId.is_in(persons.iter().copied()));
    }
    let rows = select.all(db).await?;
    if rows.is_empty() {
        return Ok(0);
    }

    let session_ids: Vec<Uuid> = sessions.iter().map(|(id, _)| *id).collect();
    let mut present: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    if !session_ids.is_empty() {
        let mut att = attendance::Entity::find()
            .select_only()
            .column(attendance::Column::PersonId)
            .column(attendance::Column::SessionId)
            .filter(attendance::Column::SessionId.is_in(session_ids))
            .filter(attendance::Column::Present.eq(true));
        if let Some(persons) = persons {
            att = att.filter(attendance::Column::PersonId.is_in(persons.iter().copied()));
        }
        let pairs: Vec<(Uuid, Uuid)> = att.into_tuple().all(db).await?;
        for (person, session) in pairs {
            present.entry(person).or_default().insert(session);
        }
    }

    let empty = HashSet::new();
    let mut changed = 0;
    for row in rows {
        let p = progress(
            row.role,
            row.status,
            &sessions,
            present.get(&row.person_id).unwrap_or(&empty),
            min_percent,
        );
        if p.attended == row.sessions_attended
            && p.required == row.sessions_required
            && p.completed == row.completed
        {
            continue;
        }
        // Derived figures do not bump `version`: no client wrote them, and a
        // client's pending update of the participation stays valid.
        participation::Entity::update_many()
            .col_expr(
                participation::Column::SessionsAttended,
                Expr::val(p.attended),
            )
            .col_expr(
                participation::Column::SessionsRequired,
                Expr::val(p.required),
            )
            .col_expr(participation::Column::Completed, Expr::val(p.completed))
            .filter(participation::Column::Id.eq(row.id))
            .exec(db)
            .await?;
        changed += 1;
    }
    Ok(changed)
}

/// Recomputes every run of a programme (after its rule changed).
pub async fn recompute_programme(
    db: &impl ConnectionTrait,
    programme_id: Uuid,
) -> Result<u64, DbErr> {
    let runs: Vec<Uuid> = programme_run::Entity::find()
        .select_only()
        .column(programme_run::Column::Id)
        .filter(programme_run::Column::ProgrammeId.eq(programme_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut changed = 0;
    for run in runs {
        changed += recompute(db, run, None).await?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_are_measured_against_all_staff_sessions_only() {
        let all = Uuid::now_v7();
        let leaders = Uuid::now_v7();
        let sessions = [(all, Audience::AllStaff), (leaders, Audience::Leaders)];
        let present: HashSet<Uuid> = [all].into();
        let staff = progress(
            ParticipationRole::Staff,
            ParticipationStatus::Active,
            &sessions,
            &present,
            None,
        );
        assert_eq!(
            (staff.attended, staff.required, staff.completed),
            (1, 1, true)
        );
        let leader = progress(
            ParticipationRole::Leader,
            ParticipationStatus::Active,
            &sessions,
            &present,
            None,
        );
        assert_eq!(
            (leader.attended, leader.required, leader.completed),
            (1, 2, false)
        );
        let half = progress(
            ParticipationRole::Leader,
            ParticipationStatus::Active,
            &sessions,
            &present,
            Some(50),
        );
        assert!(half.completed);
    }

    #[test]
    fn the_share_is_compared_without_rounding() {
        let sessions: Vec<(Uuid, Audience)> = (0..4)
            .map(|_| (Uuid::now_v7(), Audience::AllStaff))
            .collect();
        let three: HashSet<Uuid> = sessions.iter().take(3).map(|s| s.0).collect();
        let two: HashSet<Uuid> = sessions.iter().take(2).map(|s| s.0).collect();
        let rule = Some(75);
        let role = ParticipationRole::Staff;
        let active = ParticipationStatus::Active;
        assert!(progress(role, active, &sessions, &three, rule).completed);
        assert!(!progress(role, active, &sessions, &two, rule).completed);
        // Withdrawn participants and runs without sessions complete no one.
        assert!(
            !progress(
                role,
                ParticipationStatus::Withdrawn,
                &sessions,
                &three,
                rule
            )
            .completed
        );
        assert!(!progress(role, active, &[], &HashSet::new(), Some(0)).completed);
    }
}
