//! `programme_run`: one run (gjennomføring) of a programme, for example in
//! one network or one year.

use sea_orm::entity::prelude::*;

use crate::enums::RunStatus;

/// A programme run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programme_run")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The programme being run.
    pub programme_id: Uuid,
    /// The network the run is organised in.
    pub network_id: Option<Uuid>,
    /// Title of the run.
    pub title: String,
    /// Lifecycle status.
    pub status: RunStatus,
    /// The (starting) year of the run.
    pub year: Option<i32>,
    /// First day of the run.
    pub starts_on: Option<Date>,
    /// Last day of the run.
    pub ends_on: Option<Date>,
    /// Period in prose when exact dates are unknown (e.g. "autumn 2025").
    pub period: Option<String>,
    /// Free-text notes.
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// Where the data came from.
    pub source: Option<String>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The programme (`programme_id`).
    #[sea_orm(
        belongs_to = "super::programme::Entity",
        from = "Column::ProgrammeId",
        to = "super::programme::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Programme,
    /// The network (`network_id`).
    #[sea_orm(
        belongs_to = "super::network::Entity",
        from = "Column::NetworkId",
        to = "super::network::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Network,
    /// Services enrolled in the run.
    #[sea_orm(has_many = "super::enrolment::Entity", via_rel = "Relation::Run")]
    Enrolment,
    /// Sessions of the run.
    #[sea_orm(has_many = "super::session::Entity", via_rel = "Relation::Run")]
    Session,
    /// People taking part in the run.
    #[sea_orm(has_many = "super::participation::Entity", via_rel = "Relation::Run")]
    Participation,
    /// Grants for the run.
    #[sea_orm(has_many = "super::funding_grant::Entity", via_rel = "Relation::Run")]
    FundingGrant,
}

impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Programme.def()
    }
}

impl Related<super::network::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Network.def()
    }
}

impl Related<super::enrolment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enrolment.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl Related<super::participation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participation.def()
    }
}

impl Related<super::funding_grant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FundingGrant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
