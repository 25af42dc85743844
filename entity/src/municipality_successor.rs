//! `municipality_successor`: which municipalities took over from a
//! municipality that ended (merger, split, renumbering).

use sea_orm::entity::prelude::*;

/// A predecessor/successor pair of municipalities.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "municipality_successor")]
pub struct Model {
    /// The predecessor municipality.
    #[sea_orm(primary_key, auto_increment = false)]
    pub municipality_id: Uuid,
    /// A successor municipality.
    #[sea_orm(primary_key, auto_increment = false)]
    pub successor_id: Uuid,
}

// Both references point at `municipality`, so no `Related` impl is given;
// join through the relation variants explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The predecessor municipality (`municipality_id`).
    #[sea_orm(
        belongs_to = "super::municipality::Entity",
        from = "Column::MunicipalityId",
        to = "super::municipality::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Municipality,
    /// The successor municipality (`successor_id`).
    #[sea_orm(
        belongs_to = "super::municipality::Entity",
        from = "Column::SuccessorId",
        to = "super::municipality::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Successor,
}

impl ActiveModelBehavior for ActiveModel {}
