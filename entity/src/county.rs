//! `county`: a Norwegian county (fylke), current or historical.

use sea_orm::entity::prelude::*;

/// A county (fylke). Historical counties keep their row with `valid_to` set
/// and, when merged, `merged_into_id` pointing at the successor county.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "county")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Two-digit county number (fylkesnummer), unique.
    #[sea_orm(column_type = "Char(Some(2))", unique)]
    pub number: String,
    /// Common name.
    pub name: String,
    /// Official name (may be bilingual).
    pub official_name: String,
    /// Number of inhabitants, as of `population_year`.
    pub population: Option<i64>,
    /// The year the population figure refers to.
    pub population_year: Option<i32>,
    /// First day the county existed in this form.
    pub valid_from: Option<Date>,
    /// Last day the county existed in this form; `None` while it exists.
    pub valid_to: Option<Date>,
    /// The county this one was merged into.
    pub merged_into_id: Option<Uuid>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The county this one was merged into (`merged_into_id`). A self-join:
    /// join with an alias (`join_as`) when using it in a query.
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::MergedIntoId",
        to = "Column::Id",
        on_update = "Cascade",
        on_delete = "SetNull"
    )]
    MergedInto,
    /// Counties that were merged into this one (self-join; see `MergedInto`).
    #[sea_orm(has_many = "Entity", via_rel = "Relation::MergedInto")]
    MergedFrom,
    /// Municipalities in the county.
    #[sea_orm(has_many = "super::municipality::Entity", via_rel = "Relation::County")]
    Municipality,
    /// Links to the funder offices covering the county.
    #[sea_orm(
        has_many = "super::funder_office_county::Entity",
        via_rel = "Relation::County"
    )]
    FunderOfficeCounty,
    /// Links to the providers whose region includes the county.
    #[sea_orm(
        has_many = "super::provider_region::Entity",
        via_rel = "Relation::County"
    )]
    ProviderRegion,
    /// Regional networks in the county.
    #[sea_orm(has_many = "super::network::Entity", via_rel = "Relation::County")]
    Network,
}

impl Related<super::municipality::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Municipality.def()
    }
}

impl Related<super::funder_office_county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FunderOfficeCounty.def()
    }
}

impl Related<super::provider_region::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProviderRegion.def()
    }
}

impl Related<super::network::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Network.def()
    }
}

/// Funder offices covering the county, via `funder_office_county`.
impl Related<super::funder_office::Entity> for Entity {
    fn to() -> RelationDef {
        super::funder_office_county::Relation::FunderOffice.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::funder_office_county::Relation::County.def().rev())
    }
}

/// Providers whose region includes the county, via `provider_region`.
impl Related<super::provider::Entity> for Entity {
    fn to() -> RelationDef {
        super::provider_region::Relation::Provider.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::provider_region::Relation::County.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
