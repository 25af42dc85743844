//! `network_member`: a service's membership of a network over time.

use sea_orm::entity::prelude::*;

/// A network membership.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network_member")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The network.
    pub network_id: Uuid,
    /// The member service.
    pub service_id: Uuid,
    /// When the service joined.
    pub joined_on: Option<Date>,
    /// When the service left; `None` while it is a member.
    pub left_on: Option<Date>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The network (`network_id`).
    #[sea_orm(
        belongs_to = "super::network::Entity",
        from = "Column::NetworkId",
        to = "super::network::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Network,
    /// The member service (`service_id`).
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "Column::ServiceId",
        to = "super::service::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Service,
}

impl Related<super::network::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Network.def()
    }
}

impl Related<super::service::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Service.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
