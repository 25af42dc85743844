//! `enrolment`: a service's enrolment in a programme run.

use sea_orm::entity::prelude::*;

use crate::enums::EnrolmentStatus;

/// An enrolment; unique per run and service.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolment")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The programme run.
    pub run_id: Uuid,
    /// The enrolled service.
    pub service_id: Uuid,
    /// Enrolled or withdrawn.
    pub status: EnrolmentStatus,
    /// When the service enrolled.
    pub enrolled_on: Option<Date>,
    /// When the service withdrew.
    pub withdrawn_on: Option<Date>,
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
    /// The service (`service_id`).
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "Column::ServiceId",
        to = "super::service::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Service,
}

impl Related<super::programme_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Run.def()
    }
}

impl Related<super::service::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Service.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
