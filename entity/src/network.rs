//! `network`: a learning or leader network of services.

use sea_orm::entity::prelude::*;

use crate::enums::{NetworkKind, NetworkScope};

/// A network.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "network")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL-safe identifier, unique.
    #[sea_orm(column_type = "String(StringLen::N(120))", unique)]
    pub slug: String,
    /// Name of the network.
    pub name: String,
    /// Kind of network.
    pub kind: NetworkKind,
    /// Regional or national.
    pub scope: NetworkScope,
    /// The county of a regional network.
    pub county_id: Option<Uuid>,
    /// The service that coordinates the network.
    pub coordinator_service_id: Option<Uuid>,
    /// Free-text description.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// Member count as reported by a source (not computed).
    pub reported_member_count: Option<i32>,
    /// Where the data came from.
    pub source: Option<String>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

// `network` reaches `service` both through `coordinator_service_id` and
// through `network_member`, so no `Related<service>` impl is given.
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
    /// The coordinating service (`coordinator_service_id`).
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "Column::CoordinatorServiceId",
        to = "super::service::Column::Id",
        on_update = "Cascade",
        on_delete = "SetNull"
    )]
    CoordinatorService,
    /// Member services.
    #[sea_orm(
        has_many = "super::network_member::Entity",
        via_rel = "Relation::Network"
    )]
    NetworkMember,
    /// Programme runs organised in the network.
    #[sea_orm(
        has_many = "super::programme_run::Entity",
        via_rel = "Relation::Network"
    )]
    ProgrammeRun,
    /// Grants with the network as recipient.
    #[sea_orm(
        has_many = "super::funding_grant::Entity",
        via_rel = "Relation::RecipientNetwork"
    )]
    FundingGrant,
}

impl Related<super::county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::County.def()
    }
}

impl Related<super::network_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NetworkMember.def()
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

impl ActiveModelBehavior for ActiveModel {}
