//! `provider_region`: the counties a provider serves.

use sea_orm::entity::prelude::*;

/// A provider/county pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_region")]
pub struct Model {
    /// The provider.
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider_id: Uuid,
    /// A county in the provider's region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub county_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The provider (`provider_id`).
    #[sea_orm(
        belongs_to = "super::provider::Entity",
        from = "Column::ProviderId",
        to = "super::provider::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Provider,
    /// The county (`county_id`).
    #[sea_orm(
        belongs_to = "super::county::Entity",
        from = "Column::CountyId",
        to = "super::county::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    County,
}

impl Related<super::provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl Related<super::county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::County.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
