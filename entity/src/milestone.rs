//! `milestone`: a dated event or figure in a programme's history.

use sea_orm::entity::prelude::*;

use crate::enums::FigureQualifier;

/// A milestone.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "milestone")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The programme.
    pub programme_id: Uuid,
    /// Order within the programme.
    pub position: i32,
    /// First (or only) year the milestone refers to.
    pub year_from: i32,
    /// Last year of a span of years.
    pub year_to: Option<i32>,
    /// What happened.
    #[sea_orm(column_type = "Text")]
    pub text: String,
    /// A figure, e.g. a number of participants.
    pub figure: Option<i64>,
    /// Unit of the figure (e.g. "services").
    pub unit: Option<String>,
    /// How precise the figure is.
    pub qualifier: Option<FigureQualifier>,
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
        on_delete = "Cascade"
    )]
    Programme,
}

impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Programme.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
