//! `programme`: a competence-development programme (kompetansetiltak),
//! independent of any particular run of it.

use sea_orm::entity::prelude::*;

/// A programme.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programme")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL-safe identifier, unique.
    #[sea_orm(column_type = "String(StringLen::N(120))", unique)]
    pub slug: String,
    /// Name of the programme.
    pub name: String,
    /// Short name or abbreviation.
    pub short_name: Option<String>,
    /// One-paragraph summary.
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    /// Full description.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// Goals: JSON array of strings (see [`crate::decode_json_list`]).
    #[sea_orm(column_type = "Text")]
    pub goals: String,
    /// Learning objectives: JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub learning_objectives: String,
    /// Competence areas: JSON array of [`crate::CompetenceArea`] objects.
    #[sea_orm(column_type = "Text")]
    pub competence_areas: String,
    /// Minimum share of sessions (percent) a participant must attend to
    /// complete the programme.
    pub completion_min_percent: Option<i32>,
    /// Completion rule in prose.
    #[sea_orm(column_type = "Text", nullable)]
    pub completion_rule: Option<String>,
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
    /// Links to the providers of the programme.
    #[sea_orm(
        has_many = "super::programme_provider::Entity",
        via_rel = "Relation::Programme"
    )]
    ProgrammeProvider,
    /// Themes of the programme.
    #[sea_orm(
        has_many = "super::programme_theme::Entity",
        via_rel = "Relation::Programme"
    )]
    ProgrammeTheme,
    /// Service kinds the programme targets.
    #[sea_orm(
        has_many = "super::programme_service_kind::Entity",
        via_rel = "Relation::Programme"
    )]
    ProgrammeServiceKind,
    /// Milestones in the programme's history.
    #[sea_orm(has_many = "super::milestone::Entity", via_rel = "Relation::Programme")]
    Milestone,
    /// Runs of the programme.
    #[sea_orm(
        has_many = "super::programme_run::Entity",
        via_rel = "Relation::Programme"
    )]
    ProgrammeRun,
    /// Grants for the programme.
    #[sea_orm(
        has_many = "super::funding_grant::Entity",
        via_rel = "Relation::Programme"
    )]
    FundingGrant,
}

impl Related<super::programme_provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProgrammeProvider.def()
    }
}

impl Related<super::programme_theme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProgrammeTheme.def()
    }
}

impl Related<super::programme_service_kind::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProgrammeServiceKind.def()
    }
}

impl Related<super::milestone::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Milestone.def()
    }
}

impl Related<super::programme_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProgrammeRun.def()
    }
}

impl Related<super::funding_grant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FundingGrant.def()
    }
}

/// Providers of the programme, via `programme_provider`.
impl Related<super::provider::Entity> for Entity {
    fn to() -> RelationDef {
        super::programme_provider::Relation::Provider.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::programme_provider::Relation::Programme.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
