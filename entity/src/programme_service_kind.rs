//! `programme_service_kind`: the kinds of service a programme is meant for.

use sea_orm::entity::prelude::*;

use crate::enums::ServiceKind;

/// A target service kind; unique per programme.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programme_service_kind")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The programme.
    pub programme_id: Uuid,
    /// The service kind.
    pub kind: ServiceKind,
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
