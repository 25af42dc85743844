//! `service`: a municipal service unit (for example a child welfare service),
//! possibly shared by several municipalities (interkommunalt samarbeid).

use sea_orm::entity::prelude::*;

use crate::enums::ServiceKind;

/// A service unit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL-safe identifier, unique.
    #[sea_orm(column_type = "String(StringLen::N(120))", unique)]
    pub slug: String,
    /// Name of the service.
    pub name: String,
    /// Kind of service.
    pub kind: ServiceKind,
    /// The host municipality (vertskommune) of a shared service.
    pub host_municipality_id: Option<Uuid>,
    /// Free-text notes.
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// Where the data came from.
    pub source: Option<String>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

// `service` reaches `municipality` both through `host_municipality_id` and
// through `service_municipality`, and `network` both through
// `coordinator_service_id` and through `network_member`, so no `Related`
// impl is given for `municipality` or `network`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The host municipality (`host_municipality_id`).
    #[sea_orm(
        belongs_to = "super::municipality::Entity",
        from = "Column::HostMunicipalityId",
        to = "super::municipality::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    HostMunicipality,
    /// Links to the municipalities the service serves.
    #[sea_orm(
        has_many = "super::service_municipality::Entity",
        via_rel = "Relation::Service"
    )]
    ServiceMunicipality,
    /// Networks coordinated by the service.
    #[sea_orm(
        has_many = "super::network::Entity",
        via_rel = "Relation::CoordinatorService"
    )]
    CoordinatedNetworks,
    /// Memberships of the service in networks.
    #[sea_orm(
        has_many = "super::network_member::Entity",
        via_rel = "Relation::Service"
    )]
    NetworkMember,
    /// Enrolments of the service in programme runs.
    #[sea_orm(has_many = "super::enrolment::Entity", via_rel = "Relation::Service")]
    Enrolment,
    /// People working in the service.
    #[sea_orm(has_many = "super::person::Entity", via_rel = "Relation::Service")]
    Person,
    /// Grants with the service as recipient.
    #[sea_orm(
        has_many = "super::funding_grant::Entity",
        via_rel = "Relation::RecipientService"
    )]
    FundingGrant,
    /// Role assignments scoped to the service.
    #[sea_orm(
        has_many = "super::role_assignment::Entity",
        via_rel = "Relation::Service"
    )]
    RoleAssignment,
}

impl Related<super::service_municipality::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ServiceMunicipality.def()
    }
}

impl Related<super::network_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NetworkMember.def()
    }
}

impl Related<super::enrolment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enrolment.def()
    }
}

impl Related<super::person::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Person.def()
    }
}

impl Related<super::funding_grant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FundingGrant.def()
    }
}

impl Related<super::role_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RoleAssignment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
