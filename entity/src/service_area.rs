//! `service_area`: each service with the *current* municipalities it covers
//! and their counties, derived from `service_municipality`, the service's
//! host municipality and `municipality_successor` (a service registered for
//! Bø counts for Midt-Telemark). The server rebuilds it whenever those
//! tables change (the seeds; the API does not write them), so that the
//! statistics join a table instead of following municipality history in
//! every request.

use sea_orm::entity::prelude::*;

/// One current municipality covered by one service.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_area")]
pub struct Model {
    /// The service (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: Uuid,
    /// A current municipality the service covers (part of the primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub municipality_id: Uuid,
    /// The county of that municipality.
    pub county_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
