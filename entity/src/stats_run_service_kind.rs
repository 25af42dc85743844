//! `stats_run_service_kind`: a tally of a run's people facts per service
//! and session kind, kept by the server in step with participations and
//! attendance (see the statistics module).

use sea_orm::entity::prelude::*;

use crate::enums::SessionKind;

/// The people facts of one service's persons in one run, for the sessions
/// of one kind.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_run_service_kind")]
pub struct Model {
    /// The run (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: Uuid,
    /// The persons' service (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: Uuid,
    /// The session kind (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: SessionKind,
    /// Participations whose person was present at a session of this kind.
    pub participants: i64,
    /// Completed participations whose person was present at a session of
    /// this kind.
    pub completions: i64,
    /// Attendance records at sessions of this kind, present or absent.
    pub recorded: i64,
    /// Attendance records at sessions of this kind marked present.
    pub present: i64,
    /// Sum of the record keys behind `participants` (one per person).
    pub participants_key: i64,
    /// Sum of the record keys behind `completions`.
    pub completions_key: i64,
    /// Sum of the record keys behind `recorded` (one per record).
    pub recorded_key: i64,
    /// Sum of the record keys behind `present` (one per record).
    pub present_key: i64,
    /// Attendance records of synthetic persons (test data) among the facts
    /// counted here.
    pub synthetic: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
