//! `programme_provider`: the providers of a programme and their roles.

use sea_orm::entity::prelude::*;

use crate::enums::ProviderRole;

/// A programme/provider pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programme_provider")]
pub struct Model {
    /// The programme.
    #[sea_orm(primary_key, auto_increment = false)]
    pub programme_id: Uuid,
    /// A provider of the programme.
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider_id: Uuid,
    /// Lead or partner.
    pub role: ProviderRole,
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
    /// The provider (`provider_id`).
    #[sea_orm(
        belongs_to = "super::provider::Entity",
        from = "Column::ProviderId",
        to = "super::provider::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Provider,
}

impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Programme.def()
    }
}

impl Related<super::provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
