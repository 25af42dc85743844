//! `role_assignment`: an access role granted to an authenticated subject,
//! optionally scoped to a funder office, provider, service or person.

use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// A role assignment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_assignment")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The authenticated subject (user identifier from the identity provider).
    pub subject: String,
    /// The role granted.
    pub role: Role,
    /// Scope: the funder office the subject acts for.
    pub funder_office_id: Option<Uuid>,
    /// Scope: the provider the subject acts for.
    pub provider_id: Option<Uuid>,
    /// Scope: the service the subject acts for.
    pub service_id: Option<Uuid>,
    /// Scope: the person the subject is.
    pub person_id: Option<Uuid>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
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
    /// The provider (`provider_id`).
    #[sea_orm(
        belongs_to = "super::provider::Entity",
        from = "Column::ProviderId",
        to = "super::provider::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Provider,
    /// The service (`service_id`).
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "Column::ServiceId",
        to = "super::service::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Service,
    /// The person (`person_id`).
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::PersonId",
        to = "super::person::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Person,
}

impl Related<super::funder_office::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FunderOffice.def()
    }
}

impl Related<super::provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl Related<super::service::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Service.def()
    }
}

impl Related<super::person::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Person.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
