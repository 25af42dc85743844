//! `participation`: a person's participation in a programme run.

use sea_orm::entity::prelude::*;

use crate::enums::{ParticipationRole, ParticipationStatus};

/// A participation; unique per person and run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participation")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The participant.
    pub person_id: Uuid,
    /// The programme run.
    pub run_id: Uuid,
    /// Staff or leader.
    pub role: ParticipationRole,
    /// Active or withdrawn.
    pub status: ParticipationStatus,
    /// Whether the row is synthetic test data.
    pub synthetic: bool,
    /// Sessions meant for the participant (by audience) that they attended;
    /// derived from attendance.
    pub sessions_attended: i32,
    /// Sessions of the run meant for the participant (by audience).
    pub sessions_required: i32,
    /// Whether the attended share meets the programme's completion rule;
    /// derived, never typed in.
    pub completed: bool,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The participant (`person_id`).
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::PersonId",
        to = "super::person::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Person,
    /// The programme run (`run_id`).
    #[sea_orm(
        belongs_to = "super::programme_run::Entity",
        from = "Column::RunId",
        to = "super::programme_run::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Run,
}

impl Related<super::person::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Person.def()
    }
}

impl Related<super::programme_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Run.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
