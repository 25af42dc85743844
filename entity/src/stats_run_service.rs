//! `stats_run_service`: a tally of a run's people facts per service (the
//! service of the person), kept by the server in step with participations
//! and attendance (see the statistics module).

use sea_orm::entity::prelude::*;

/// The people facts of one service's persons in one run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_run_service")]
pub struct Model {
    /// The run (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: Uuid,
    /// The persons' service (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: Uuid,
    /// Participations (active or withdrawn).
    pub participants: i64,
    /// Completed participations.
    pub completions: i64,
    /// Attendance records, present or absent.
    pub recorded: i64,
    /// Attendance records marked present.
    pub present: i64,
    /// Distinct persons present at one session of the run or more.
    pub attendees: i64,
    /// Sum of the record keys behind `participants` (one per participation).
    pub participants_key: i64,
    /// Sum of the record keys behind `completions`.
    pub completions_key: i64,
    /// Sum of the record keys behind `recorded` (one per record).
    pub recorded_key: i64,
    /// Sum of the record keys behind `present` (one per record).
    pub present_key: i64,
    /// Sum of the record keys behind `attendees` (one per person).
    pub attendees_key: i64,
    /// Participations and attendance records of synthetic persons (test
    /// data) among the facts counted here.
    pub synthetic: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
