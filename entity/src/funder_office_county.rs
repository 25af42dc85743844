//! `funder_office_county`: the counties a funder office covers.

use sea_orm::entity::prelude::*;

/// A funder office/county pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "funder_office_county")]
pub struct Model {
    /// The funder office.
    #[sea_orm(primary_key, auto_increment = false)]
    pub funder_office_id: Uuid,
    /// A county the office covers.
    #[sea_orm(primary_key, auto_increment = false)]
    pub county_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The funder office (`funder_office_id`).
    #[sea_orm(
        belongs_to = "super::funder_office::Entity",
        from = "Column::FunderOfficeId",
        to = "super::funder_office::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    FunderOffice,
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

impl Related<super::funder_office::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FunderOffice.def()
    }
}

impl Related<super::county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::County.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
