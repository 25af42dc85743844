//! `session`: one gathering (samling) in a programme run.

use sea_orm::entity::prelude::*;

use crate::enums::{Audience, SessionKind};

/// A session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The programme run.
    pub run_id: Uuid,
    /// Order within the run.
    pub position: i32,
    /// Title of the session.
    pub title: String,
    /// Kind of session.
    pub kind: SessionKind,
    /// Who the session is for.
    pub audience: Audience,
    /// The day of the session.
    pub date: Option<Date>,
    /// When the session starts.
    pub starts_at: Option<DateTimeUtc>,
    /// Period in prose when the date is unknown.
    pub period: Option<String>,
    /// Length in minutes.
    pub duration_minutes: Option<i32>,
    /// Where the session takes place (or "digital").
    pub place: Option<String>,
    /// Preparation expected of participants.
    #[sea_orm(column_type = "Text", nullable)]
    pub pre_work: Option<String>,
    /// Attendance as reported by a source (not computed).
    pub reported_attendance: Option<i32>,
    /// Whether `reported_attendance` is approximate.
    pub reported_attendance_approximate: bool,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The programme run (`run_id`).
    #[sea_orm(
        belongs_to = "super::programme_run::Entity",
        from = "Column::RunId",
        to = "super::programme_run::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Run,
    /// Attendance records of the session.
    #[sea_orm(has_many = "super::attendance::Entity", via_rel = "Relation::Session")]
    Attendance,
}

impl Related<super::programme_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Run.def()
    }
}

impl Related<super::attendance::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Attendance.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
