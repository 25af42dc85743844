//! `stats_run_person_kind`: a tally of the persons of a run present at
//! its sessions of each kind, kept by the server in step with
//! participations and attendance (see the statistics module).

use sea_orm::entity::prelude::*;

use crate::enums::SessionKind;

/// One person signed up to a run who was present at least once at one of
/// the run's sessions of one kind.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_run_person_kind")]
pub struct Model {
    /// The run (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: Uuid,
    /// The session kind (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: SessionKind,
    /// The person (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub person_id: Uuid,
    /// The person's service (copied from the person, which never changes
    /// service).
    pub service_id: Uuid,
    /// The person's record key (copied from the person; never exposed).
    pub record_key: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
