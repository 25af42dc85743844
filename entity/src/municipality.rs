//! `municipality`: a Norwegian municipality (kommune), current or historical.

use sea_orm::entity::prelude::*;

use crate::enums::MunicipalityChange;

/// A municipality (kommune). Historical municipalities keep their row with
/// `valid_to` and `change_type` set; their successors are listed in
/// `municipality_successor`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "municipality")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Four-digit municipality number (kommunenummer), unique.
    #[sea_orm(column_type = "Char(Some(4))", unique)]
    pub number: String,
    /// Common name.
    pub name: String,
    /// Official name (may be bilingual).
    pub official_name: String,
    /// Name for display, disambiguated where names repeat.
    pub display_name: String,
    /// The county the municipality belongs to.
    pub county_id: Uuid,
    /// Number of inhabitants, as of `population_year`.
    pub population: Option<i64>,
    /// The year the population figure refers to.
    pub population_year: Option<i32>,
    /// First day the municipality existed in this form.
    pub valid_from: Option<Date>,
    /// Last day the municipality existed in this form; `None` while it exists.
    pub valid_to: Option<Date>,
    /// How the municipality ended or changed, when it did.
    pub change_type: Option<MunicipalityChange>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The county (`county_id`).
    #[sea_orm(
        belongs_to = "super::county::Entity",
        from = "Column::CountyId",
        to = "super::county::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    County,
    /// Successor links where this municipality is the predecessor.
    #[sea_orm(
        has_many = "super::municipality_successor::Entity",
        via_rel = "Relation::Municipality"
    )]
    SuccessorLinks,
    /// Successor links where this municipality is the successor.
    #[sea_orm(
        has_many = "super::municipality_successor::Entity",
        via_rel = "Relation::Successor"
    )]
    PredecessorLinks,
    /// Services hosted by this municipality (`service.host_municipality_id`).
    #[sea_orm(
        has_many = "super::service::Entity",
        via_rel = "Relation::HostMunicipality"
    )]
    HostedServices,
    /// Links to the services that serve this municipality.
    #[sea_orm(
        has_many = "super::service_municipality::Entity",
        via_rel = "Relation::Municipality"
    )]
    ServiceMunicipality,
    /// Grants with this municipality as recipient.
    #[sea_orm(
        has_many = "super::funding_grant::Entity",
        via_rel = "Relation::RecipientMunicipality"
    )]
    FundingGrant,
}

impl Related<super::county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::County.def()
    }
}

impl Related<super::service_municipality::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ServiceMunicipality.def()
    }
}

impl Related<super::funding_grant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FundingGrant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
