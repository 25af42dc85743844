//! `stats_run_kind`: a tally of a run's sessions per session kind, kept by
//! the server in step with the sessions (see the statistics module).

use sea_orm::entity::prelude::*;

use crate::enums::SessionKind;

/// The sessions of one kind in one run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_run_kind")]
pub struct Model {
    /// The run (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: Uuid,
    /// The session kind (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: SessionKind,
    /// How many sessions of the run are of this kind.
    pub sessions: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
